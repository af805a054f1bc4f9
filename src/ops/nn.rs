//! Layer ops: masking/rescale, bias sums, BatchNorm, activations, upsampling,
//! concatenation, max-pooling, axpby and the per-channel affine map
//! (`shaders/nn/`), with their CPU twins.
use super::{CpuResult, NnOp};
use crate::kernels::params::{u, BatchnormStatsParams};
use crate::kernels::{grid_1d, Binding, Dispatch, Lowered, Params};
use crate::kernels::{Defines, Kernel, Shader};
use Binding::{Input as In, Output as Out, Unused};

fn numel(s: &[usize]) -> usize {
    s.iter().product()
}

fn ew(kernel: Kernel, params: Params, bindings: Vec<Binding>, len: usize) -> Dispatch {
    Dispatch {
        kernel,
        params: params.done(),
        bindings,
        workgroups: grid_1d(len),
    }
}

/// Per-channel values up to which the BatchNorm reductions run one
/// invocation per channel (`serial`) rather than a workgroup per channel,
/// whose barriers cost more than such small sums (4x4 maps: 13 ms for 512
/// channels on lavapipe).
const BN_SERIAL_MAX: usize = 256;

/// Kernel and grid of a BatchNorm reduction over `count` values for each of
/// `c` channels.
fn bn_reduce_launch(
    count: usize,
    c: usize,
    serial: Kernel,
    workgroup: Kernel,
) -> (Kernel, [u32; 3]) {
    if count <= BN_SERIAL_MAX {
        (serial, [c.div_ceil(64) as u32, 1, 1])
    } else {
        (workgroup, [c as u32, 1, 1])
    }
}

/// Whether the 2x2 max-pool (and its backward) of an [N, C, H, W] input
/// runs two windows per invocation on vec4 rows: every pixel lies in a
/// window (even H) and rows hold whole vec4s (W a multiple of 4).
fn maxpool_vec4(x: &[usize]) -> bool {
    x[2].is_multiple_of(2) && x[3].is_multiple_of(4)
}

/// The dispatches of `op` followed by a leaky ReLU of `slope` on its
/// result, in its own kernel: BatchNorm (the normalisation's last step);
/// None for the other ops.
pub(super) fn lower_with_activation(op: &NnOp, ins: &[&[usize]], slope: f32) -> Option<Lowered> {
    match *op {
        NnOp::BatchNorm {
            train,
            eps,
            momentum,
        } => Some(batch_norm(ins[0], train, eps, momentum, Some(slope))),
        _ => None,
    }
}

/// BatchNorm's statistics and normalisation, the result through a leaky
/// ReLU of `activation`'s slope where given.
fn batch_norm(
    x: &[usize],
    train: bool,
    eps: f32,
    momentum: f32,
    activation: Option<f32>,
) -> Lowered {
    let (n, c, hw) = (x[0], x[1], x[2] * x[3]);
    let (kernel, workgroups) = bn_reduce_launch(
        n * hw,
        c,
        Shader::BatchnormStats.with(Defines::SERIAL),
        Shader::BatchnormStats.kernel(),
    );
    let stats = Dispatch {
        kernel,
        params: BatchnormStatsParams {
            n: u(n),
            c: u(c),
            hw: u(hw),
            train: train.into(),
            eps,
            momentum,
        }
        .words(),
        bindings: vec![In(0), In(3), In(4), Out(1), Out(2)],
        workgroups,
    };
    let (kernel, items) = super::vec4_planes(Shader::BatchnormApply, hw, numel(x));
    let params = Params::new()
        .u(n)
        .u(c)
        .u(hw)
        .b(activation.is_some())
        .f(activation.unwrap_or(0.0));
    let apply = ew(
        kernel,
        params,
        vec![In(0), Out(1), Out(2), In(1), In(2), Out(0)],
        items,
    );
    Lowered {
        dispatches: vec![stats, apply],
        ..Default::default()
    }
}

pub(super) fn lower(op: &NnOp, ins: &[&[usize]], outs: &[&[usize]]) -> Lowered {
    let x = ins[0];
    let len = numel(x);
    match *op {
        NnOp::ChannelScale { invert, bias } => {
            let p = Params::new()
                .u(x[0])
                .u(x[1])
                .u(x[2] * x[3])
                .b(invert)
                .b(bias);
            let b = if bias { In(2) } else { Unused };
            let (kernel, items) = super::vec4_planes(Shader::ChannelScale, x[2] * x[3], len);
            Lowered::one(ew(kernel, p, vec![In(0), In(1), b, Out(0)], items))
        }
        NnOp::PConvEpilogue {
            bias,
            bn,
            eps,
            slope,
        } => {
            let p = Params::new()
                .u(x[0])
                .u(x[1])
                .u(x[2] * x[3])
                .b(bias)
                .b(bn)
                .f(eps)
                .f(slope);
            let b = if bias { In(3) } else { Unused };
            let first_bn = 3 + bias as usize;
            let bn_in = |k: usize| if bn { In(first_bn + k) } else { Unused };
            let bindings = vec![
                In(0),
                In(1),
                In(2),
                b,
                bn_in(0),
                bn_in(1),
                bn_in(2),
                bn_in(3),
                Out(0),
            ];
            let (kernel, items) = super::vec4_planes(Shader::PConvEpilogue, x[2] * x[3], len);
            Lowered::one(ew(kernel, p, bindings, items))
        }
        NnOp::ChannelSum { masked } => {
            let p = Params::new().u(x[0]).u(x[1]).u(x[2] * x[3]).b(masked);
            let s = if masked { In(1) } else { Unused };
            Lowered::one(Dispatch {
                kernel: Shader::ChannelSum.kernel(),
                params: p.done(),
                bindings: vec![In(0), s, Out(0)],
                workgroups: [x[1] as u32, 1, 1],
            })
        }
        NnOp::BatchNorm {
            train,
            eps,
            momentum,
        } => batch_norm(x, train, eps, momentum, None),
        NnOp::BatchNormBwd { train } => {
            let (n, c, hw) = (x[0], x[1], x[2] * x[3]);
            let (kernel, workgroups) = bn_reduce_launch(
                n * hw,
                c,
                Shader::BatchnormBwdReduce.with(Defines::SERIAL),
                Shader::BatchnormBwdReduce.kernel(),
            );
            let reduce = Dispatch {
                kernel,
                params: Params::new().u(n).u(c).u(hw).done(),
                bindings: vec![In(0), In(1), In(3), In(4), Out(1), Out(2)],
                workgroups,
            };
            let (kernel, items) = super::vec4_planes(Shader::BatchnormBwdData, hw, len);
            let data = ew(
                kernel,
                Params::new().u(n).u(c).u(hw).b(train),
                vec![In(0), In(1), In(3), In(4), In(2), Out(1), Out(2), Out(0)],
                items,
            );
            Lowered {
                dispatches: vec![reduce, data],
                ..Default::default()
            }
        }
        NnOp::Activation { slope } => {
            let (kernel, items) = super::vec4_or(Shader::Activation, len);
            Lowered::one(ew(
                kernel,
                Params::new().u(items).f(slope),
                vec![In(0), Out(0)],
                items,
            ))
        }
        NnOp::ActivationBwd { slope } => {
            let (kernel, items) = super::vec4_or(Shader::ActivationBwd, len);
            Lowered::one(ew(
                kernel,
                Params::new().u(items).f(slope),
                vec![In(0), In(1), Out(0)],
                items,
            ))
        }
        // Even widths: 2 values of the low-resolution side per invocation.
        NnOp::Upsample2x => {
            let (kernel, items) = if x[3].is_multiple_of(2) {
                (Shader::Upsample2x.with(Defines::VEC4), len)
            } else {
                (Shader::Upsample2x.kernel(), 4 * len)
            };
            Lowered::one(ew(
                kernel,
                Params::new().u(x[0] * x[1]).u(x[2]).u(x[3]),
                vec![In(0), Out(0)],
                items,
            ))
        }
        NnOp::Upsample2xBwd => {
            let y = outs[0];
            let (kernel, items) = if y[3].is_multiple_of(2) {
                (Shader::Upsample2xBwd.with(Defines::VEC4), numel(y) / 2)
            } else {
                (Shader::Upsample2xBwd.kernel(), numel(y))
            };
            Lowered::one(ew(
                kernel,
                Params::new().u(y[0] * y[1]).u(y[2]).u(y[3]),
                vec![In(0), Out(0)],
                items,
            ))
        }
        NnOp::Concat => {
            let b = ins[1];
            let (kernel, items) = super::vec4_planes(Shader::Concat, x[2] * x[3], numel(outs[0]));
            Lowered::one(ew(
                kernel,
                Params::new().u(x[0]).u(x[1]).u(b[1]).u(x[2] * x[3]),
                vec![In(0), In(1), Out(0)],
                items,
            ))
        }
        NnOp::SliceChannels { start, len: c_out } => {
            let (kernel, items) =
                super::vec4_planes(Shader::SliceChannels, x[2] * x[3], numel(outs[0]));
            Lowered::one(ew(
                kernel,
                Params::new()
                    .u(x[0])
                    .u(x[1])
                    .u(c_out)
                    .u(start)
                    .u(x[2] * x[3]),
                vec![In(0), Out(0)],
                items,
            ))
        }
        NnOp::MaxPool2 => {
            let y = outs[0];
            let (kernel, items) = if maxpool_vec4(x) {
                (Shader::Maxpool2.with(Defines::VEC4), numel(y) / 2)
            } else {
                (Shader::Maxpool2.kernel(), numel(y))
            };
            Lowered::one(ew(
                kernel,
                Params::new().u(x[0] * x[1]).u(x[2]).u(x[3]).u(y[2]).u(y[3]),
                vec![In(0), Out(0)],
                items,
            ))
        }
        NnOp::MaxPool2Bwd => {
            let g = ins[1];
            let (kernel, items) = if maxpool_vec4(x) {
                (Shader::Maxpool2Bwd.with(Defines::VEC4), numel(g) / 2)
            } else {
                (Shader::Maxpool2Bwd.kernel(), len)
            };
            Lowered::one(ew(
                kernel,
                Params::new().u(x[0] * x[1]).u(x[2]).u(x[3]).u(g[2]).u(g[3]),
                vec![In(0), In(1), Out(0)],
                items,
            ))
        }
        NnOp::Axpby { alpha, beta } => {
            let has_b = ins.len() > 1;
            let b = if has_b { In(1) } else { Unused };
            let (kernel, items) = super::vec4_or(Shader::Axpby, len);
            Lowered::one(ew(
                kernel,
                Params::new().u(items).b(has_b).f(alpha).f(beta),
                vec![In(0), b, Out(0)],
                items,
            ))
        }
        NnOp::ChannelAffine { scale, shift } => {
            let mut p = Params::new().u(x[0]).u(x[2] * x[3]).align16();
            for v in scale.iter().chain(&[0.0]).chain(&shift).chain(&[0.0]) {
                p = p.f(*v);
            }
            Lowered::one(ew(
                Shader::ChannelAffine.kernel(),
                p,
                vec![In(0), Out(0)],
                len,
            ))
        }
    }
}

/// BatchNorm statistics (CPU twin of batchnorm_stats): (mean, invstd, new
/// running mean, new running var).
pub fn batch_norm_stats_cpu(
    x: &[f64],
    s: &[usize],
    rm: &[f64],
    rv: &[f64],
    train: bool,
    eps: f64,
    momentum: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let (n, c, hw) = (s[0], s[1], s[2] * s[3]);
    let count = (n * hw) as f64;
    let mut mean = vec![0.0; c];
    let mut invstd = vec![0.0; c];
    let mut rm2 = rm.to_vec();
    let mut rv2 = rv.to_vec();
    for ch in 0..c {
        if !train {
            mean[ch] = rm[ch];
            invstd[ch] = 1.0 / (rv[ch] + eps).sqrt();
            continue;
        }
        let vals = (0..n).flat_map(|i| x[(i * c + ch) * hw..(i * c + ch + 1) * hw].iter());
        let mu = vals.clone().sum::<f64>() / count;
        let var = vals.map(|v| (v - mu) * (v - mu)).sum::<f64>() / count;
        mean[ch] = mu;
        invstd[ch] = 1.0 / (var + eps).sqrt();
        let unbiased = var * count / (count - 1.0).max(1.0);
        rm2[ch] = (1.0 - momentum) * rm[ch] + momentum * mu;
        rv2[ch] = (1.0 - momentum) * rv[ch] + momentum * unbiased;
    }
    (mean, invstd, rm2, rv2)
}

pub(super) fn eval_cpu(
    op: &NnOp,
    ins: &[&[f64]],
    shapes: &[&[usize]],
    outs: &[Vec<usize>],
) -> CpuResult {
    let x = ins[0];
    let s = shapes[0];
    match *op {
        NnOp::ChannelScale { invert, bias } => {
            let (c, hw) = (s[1], s[2] * s[3]);
            CpuResult::one(
                (0..x.len())
                    .map(|i| {
                        let m = ins[1][(i / (c * hw)) * hw + i % hw];
                        let sc = if invert { 1.0 - m } else { m };
                        let b = if bias && sc != 0.0 {
                            ins[2][(i / hw) % c]
                        } else {
                            0.0
                        };
                        x[i] * sc + b
                    })
                    .collect(),
            )
        }
        NnOp::PConvEpilogue {
            bias,
            bn,
            eps,
            slope,
        } => {
            let (c, hw) = (s[1], s[2] * s[3]);
            let first_bn = 3 + bias as usize;
            CpuResult::one(
                (0..x.len())
                    .map(|i| {
                        let (ch, pixel) = ((i / hw) % c, (i / (c * hw)) * hw + i % hw);
                        let (ratio, known) = (ins[1][pixel], ins[2][pixel]);
                        if known == 0.0 {
                            return 0.0;
                        }
                        let b = if bias && ratio != 0.0 {
                            ins[3][ch]
                        } else {
                            0.0
                        };
                        let mut v = x[i] * ratio + b;
                        if bn {
                            let [gamma, beta, mean, var] =
                                [0, 1, 2, 3].map(|k| ins[first_bn + k][ch]);
                            v = (v - mean) / (var + eps as f64).sqrt() * gamma + beta;
                        }
                        let act = if v > 0.0 { v } else { slope as f64 * v };
                        act * known
                    })
                    .collect(),
            )
        }
        NnOp::ChannelSum { masked } => {
            let (c, hw) = (s[1], s[2] * s[3]);
            let mut out = vec![0.0; c];
            for (i, v) in x.iter().enumerate() {
                if masked && ins[1][(i / (c * hw)) * hw + i % hw] == 0.0 {
                    continue;
                }
                out[(i / hw) % c] += v;
            }
            CpuResult::one(out)
        }
        NnOp::BatchNorm {
            train,
            eps,
            momentum,
        } => {
            let (mean, invstd, rm, rv) =
                batch_norm_stats_cpu(x, s, ins[3], ins[4], train, eps as f64, momentum as f64);
            let (c, hw) = (s[1], s[2] * s[3]);
            let y = (0..x.len())
                .map(|i| {
                    let ch = (i / hw) % c;
                    (x[i] - mean[ch]) * invstd[ch] * ins[1][ch] + ins[2][ch]
                })
                .collect();
            let written = if train {
                vec![(3, rm), (4, rv)]
            } else {
                vec![]
            };
            CpuResult {
                outputs: vec![y, mean, invstd],
                written,
            }
        }
        NnOp::BatchNormBwd { train } => {
            let (g, xin, gamma, mean, invstd) = (ins[0], ins[1], ins[2], ins[3], ins[4]);
            let (n, c, hw) = (s[0], s[1], s[2] * s[3]);
            let m = (n * hw) as f64;
            let mut sum_g = vec![0.0; c];
            let mut sum_gx = vec![0.0; c];
            for i in 0..g.len() {
                let ch = (i / hw) % c;
                sum_g[ch] += g[i];
                sum_gx[ch] += g[i] * (xin[i] - mean[ch]) * invstd[ch];
            }
            let gx = (0..g.len())
                .map(|i| {
                    let ch = (i / hw) % c;
                    let scale = gamma[ch] * invstd[ch];
                    if train {
                        let xhat = (xin[i] - mean[ch]) * invstd[ch];
                        scale * (g[i] - sum_g[ch] / m - xhat * sum_gx[ch] / m)
                    } else {
                        g[i] * scale
                    }
                })
                .collect();
            CpuResult {
                outputs: vec![gx, sum_gx, sum_g],
                written: vec![],
            }
        }
        NnOp::Activation { slope } => CpuResult::one(
            x.iter()
                .map(|&v| if v > 0.0 { v } else { slope as f64 * v })
                .collect(),
        ),
        NnOp::ActivationBwd { slope } => CpuResult::one(
            x.iter()
                .zip(ins[1])
                .map(|(&y, &g)| if y > 0.0 { g } else { slope as f64 * g })
                .collect(),
        ),
        NnOp::Upsample2x => {
            let (nc, h, w) = (s[0] * s[1], s[2], s[3]);
            let mut y = vec![0.0; 4 * x.len()];
            for p in 0..nc {
                for oy in 0..2 * h {
                    for ox in 0..2 * w {
                        y[(p * 2 * h + oy) * 2 * w + ox] = x[(p * h + oy / 2) * w + ox / 2];
                    }
                }
            }
            CpuResult::one(y)
        }
        NnOp::Upsample2xBwd => {
            let (h, w) = (outs[0][2], outs[0][3]);
            let mut gx = vec![0.0; x.len() / 4];
            for (i, v) in x.iter().enumerate() {
                let p = i / (4 * h * w);
                let oy = (i / (2 * w)) % (2 * h);
                let ox = i % (2 * w);
                gx[(p * h + oy / 2) * w + ox / 2] += v;
            }
            CpuResult::one(gx)
        }
        NnOp::Concat => {
            let (n, ca, hw) = (s[0], s[1], s[2] * s[3]);
            let cb = shapes[1][1];
            let mut y = Vec::with_capacity(x.len() + ins[1].len());
            for img in 0..n {
                y.extend_from_slice(&x[img * ca * hw..(img + 1) * ca * hw]);
                y.extend_from_slice(&ins[1][img * cb * hw..(img + 1) * cb * hw]);
            }
            CpuResult::one(y)
        }
        NnOp::SliceChannels { start, len } => {
            let (n, c, hw) = (s[0], s[1], s[2] * s[3]);
            let mut y = Vec::with_capacity(n * len * hw);
            for img in 0..n {
                y.extend_from_slice(&x[(img * c + start) * hw..(img * c + start + len) * hw]);
            }
            CpuResult::one(y)
        }
        NnOp::MaxPool2 => {
            let (nc, h, w, ho, wo) = (s[0] * s[1], s[2], s[3], outs[0][2], outs[0][3]);
            let mut y = vec![0.0; nc * ho * wo];
            for p in 0..nc {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let at = |dy: usize, dx: usize| x[(p * h + 2 * oy + dy) * w + 2 * ox + dx];
                        y[(p * ho + oy) * wo + ox] =
                            at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
                    }
                }
            }
            CpuResult::one(y)
        }
        NnOp::MaxPool2Bwd => {
            let (nc, h, w) = (s[0] * s[1], s[2], s[3]);
            let (ho, wo) = (shapes[1][2], shapes[1][3]);
            let mut gx = vec![0.0; x.len()];
            for p in 0..nc {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let cands = [(0, 0), (0, 1), (1, 0), (1, 1)]
                            .map(|(dy, dx)| (p * h + 2 * oy + dy) * w + 2 * ox + dx);
                        let mut best = cands[0];
                        for &c in &cands[1..] {
                            if x[c] > x[best] {
                                best = c;
                            }
                        }
                        gx[best] = ins[1][(p * ho + oy) * wo + ox];
                    }
                }
            }
            CpuResult::one(gx)
        }
        NnOp::Axpby { alpha, beta } => CpuResult::one(
            (0..x.len())
                .map(|i| alpha as f64 * x[i] + ins.get(1).map_or(0.0, |b| beta as f64 * b[i]))
                .collect(),
        ),
        NnOp::ChannelAffine { scale, shift } => {
            let hw = s[2] * s[3];
            CpuResult::one(
                (0..x.len())
                    .map(|i| {
                        let ch = (i / hw) % 3;
                        x[i] * scale[ch] as f64 + shift[ch] as f64
                    })
                    .collect(),
            )
        }
    }
}
