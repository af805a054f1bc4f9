//! Loss ops (`shaders/loss/`): composite, masked L1 means, the hole-region
//! dilation and total variation, Gram matrices; with their CPU twins.
//! Scalar reductions run in two fixed-order passes (partial sums per
//! workgroup, then one workgroup), so results are deterministic.
use super::{CpuResult, L1Weight, LossOp};
use crate::kernels::params::{u, GramParams};
use crate::kernels::{
    grid_1d, Binding, DeviceTraits, Dispatch, Lowered, Params, LOOP_BUDGET, WG_SIZE,
};
use crate::kernels::{Defines, Kernel, Shader};
use Binding::{Input as In, Output as Out, Scratch, ScratchTexels, Unused};

/// Workgroups of the first pass of a scalar reduction.
const PARTIALS: usize = 64;

fn numel(s: &[usize]) -> usize {
    s.iter().product()
}

/// (n, c, h*w) of an NCHW tensor; other ranks count as one image.
fn nchw(s: &[usize]) -> (usize, usize, usize) {
    if s.len() == 4 {
        (s[0], s[1], s[2] * s[3])
    } else {
        (1, 1, numel(s))
    }
}

fn reduction(
    kernel: Kernel,
    params: Params,
    inputs: Vec<Binding>,
    len: usize,
    scale: f32,
) -> Lowered {
    let groups = PARTIALS.min(len.div_ceil(WG_SIZE as usize)).max(1);
    let mut bindings = inputs;
    bindings.push(Scratch(0));
    Lowered {
        dispatches: vec![
            Dispatch {
                kernel,
                params: params.done(),
                bindings,
                workgroups: [groups as u32, 1, 1],
            },
            Dispatch {
                kernel: Shader::SumPartials.kernel(),
                params: Params::new().u(groups).f(scale).done(),
                bindings: vec![Scratch(0), Out(0)],
                workgroups: [1, 1, 1],
            },
        ],
        scratch_bytes: vec![(groups * 4) as u64],
        ..Default::default()
    }
}

/// Grid of the 8x8-register-tile GEMM in shaders/common/gemm_register.wgsl.
/// Reduction length per invocation of the Gram kernel: about 9 loop steps
/// per position must stay within `LOOP_BUDGET` (pool1 of a 256x256 image
/// has 16384 positions, so its sum is split).
const GRAM_CHUNK: usize = 4096;
const _: () = assert!(GRAM_CHUNK * 9 <= LOOP_BUDGET);

/// Shortest reduction chunk worth its own partial Gram matrix.
const GRAM_MIN_CHUNK: usize = 64;

/// Chunk length and count of the Gram reduction over `hw` positions: enough
/// chunks to give the device `parallel_workgroups` (a 64x64 Gram matrix of
/// one image is a single workgroup, and summing 16384 positions in it alone
/// took 32 ms on an H200), and none longer than `GRAM_CHUNK`.
fn gram_split(n: usize, c: usize, hw: usize, dev: &DeviceTraits) -> (usize, usize) {
    let [x, y, _] = gemm_grid(c, c, 1, dev);
    let per_split = (x * y) as usize * n;
    let wanted = (dev.parallel_workgroups as usize).div_ceil(per_split);
    let max_splits = (65535 / n.max(1)).max(1);
    let splits = wanted
        .min(hw.div_ceil(GRAM_MIN_CHUNK))
        .max(hw.div_ceil(GRAM_CHUNK))
        .clamp(1, max_splits);
    let chunk = hw.div_ceil(splits).max(1);
    (chunk, hw.div_ceil(chunk).max(1))
}

/// Whether the Gram kernels of features of `shape` read them through a
/// texel array on this device (CPU adapters), which stays f32.
pub(super) fn gram_reads_texels(shape: &[usize], dev: &DeviceTraits) -> bool {
    let (n, c, hw) = nchw(shape);
    gram_texels(n, c, hw, dev).is_some()
}

/// Texels per row of F (`pitch4`, whole 8-position groups) where the Gram
/// kernels read F from a texel array: CPU adapters with texel arrays that
/// hold it.
fn gram_texels(n: usize, c: usize, hw: usize, dev: &DeviceTraits) -> Option<usize> {
    let pitch4 = hw.div_ceil(8) * 2;
    (!dev.workgroup_gemm && dev.texels_fit(n * c * pitch4)).then_some(pitch4)
}

/// F ([n, c, h, w]) as a texel array of rows of `pitch4` texels, one per
/// (image, channel), zero-padded past h w.
fn features_to_texels(
    lowered: &mut Lowered,
    f: Binding,
    (n, c, hw): (usize, usize, usize),
    pitch4: usize,
) -> Binding {
    super::conv::padded_copy(lowered, f, &[1, n * c, 1, hw], 0, pitch4 * 4, true)
}

/// Side of the C block one workgroup of shaders/common/gemm_tiled.wgsl computes.
const GEMM_TILE: usize = 64;

/// Grid of the GEMM kernels for an m x n result per z: 64x64 blocks per
/// workgroup (tiled), or 8x8 register tiles in 8x8 workgroups.
fn gemm_grid(m: usize, n: usize, z: usize, dev: &DeviceTraits) -> [u32; 3] {
    if dev.workgroup_gemm {
        [
            n.div_ceil(GEMM_TILE) as u32,
            m.div_ceil(GEMM_TILE) as u32,
            z as u32,
        ]
    } else {
        super::conv::block_grid(n.div_ceil(8), m.div_ceil(8), z)
    }
}

pub(super) fn lower(
    op: &LossOp,
    ins: &[&[usize]],
    outs: &[&[usize]],
    dev: &DeviceTraits,
) -> Lowered {
    match *op {
        LossOp::Composite => {
            let (n, c, hw) = nchw(ins[0]);
            Lowered::one(Dispatch {
                kernel: Shader::Composite.kernel(),
                params: Params::new().u(n).u(c).u(hw).done(),
                bindings: vec![In(0), In(1), In(2), Out(0)],
                workgroups: grid_1d(n * c * hw),
            })
        }
        LossOp::L1Mean { weight } => {
            let (n, c, hw) = nchw(ins[0]);
            let m = if weight == L1Weight::None {
                Unused
            } else {
                In(2)
            };
            let len = n * c * hw;
            let p = Params::new().u(n).u(c).u(hw).u(weight.code() as usize);
            let (kernel, items) = super::vec4_planes(Shader::L1Partial, hw, len);
            reduction(kernel, p, vec![In(0), In(1), m], items, 1.0 / len as f32)
        }
        LossOp::L1MeanBwd { weight } => {
            let (n, c, hw) = nchw(ins[1]);
            let m = if weight == L1Weight::None {
                Unused
            } else {
                In(3)
            };
            let len = n * c * hw;
            let (kernel, items) = super::vec4_planes(Shader::L1Bwd, hw, len);
            Lowered::one(Dispatch {
                kernel,
                params: Params::new()
                    .u(n)
                    .u(c)
                    .u(hw)
                    .u(weight.code() as usize)
                    .f(1.0 / len as f32)
                    .done(),
                bindings: vec![In(0), In(1), In(2), m, Out(0)],
                workgroups: grid_1d(items),
            })
        }
        LossOp::DilateHoles => {
            let s = ins[0];
            Lowered::one(Dispatch {
                kernel: Shader::DilateHoles.kernel(),
                params: Params::new().u(s[0]).u(s[2]).u(s[3]).done(),
                bindings: vec![In(0), Out(0)],
                workgroups: grid_1d(numel(s)),
            })
        }
        LossOp::Tv => {
            let s = ins[0];
            let p = Params::new().u(s[0]).u(s[1]).u(s[2]).u(s[3]);
            reduction(
                Shader::TvPartial.kernel(),
                p,
                vec![In(0), In(1)],
                numel(s),
                1.0 / numel(s) as f32,
            )
        }
        LossOp::TvBwd => {
            let s = ins[1];
            Lowered::one(Dispatch {
                kernel: Shader::TvBwd.kernel(),
                params: Params::new()
                    .u(s[0])
                    .u(s[1])
                    .u(s[2])
                    .u(s[3])
                    .f(1.0 / numel(s) as f32)
                    .done(),
                bindings: vec![In(0), In(1), In(2), Out(0)],
                workgroups: grid_1d(numel(s)),
            })
        }
        LossOp::Gram => {
            let (n, c, hw) = nchw(ins[0]);
            let (mut chunk, mut splits) = gram_split(n, c, hw, dev);
            let mut lowered = Lowered::default();
            let texels = gram_texels(n, c, hw, dev);
            let (kernel, features) = if let Some(pitch4) = texels {
                // Chunks of whole texels.
                chunk = chunk.next_multiple_of(4);
                splits = hw.div_ceil(chunk).max(1);
                let f = features_to_texels(&mut lowered, In(0), (n, c, hw), pitch4);
                (Shader::Gram.with(Defines::TEXELS), f)
            } else if dev.workgroup_gemm {
                (Shader::Gram.with(Defines::TILED), In(0))
            } else {
                (Shader::Gram.kernel(), In(0))
            };
            let target = if splits == 1 {
                Out(0)
            } else {
                Scratch(lowered.scratch_bytes.len())
            };
            lowered.dispatches.push(Dispatch {
                kernel,
                params: GramParams {
                    c: u(c),
                    hw: u(hw),
                    scale: 1.0 / (c * hw) as f32,
                    n: u(n),
                    chunk: u(chunk),
                    pitch4: u(texels.unwrap_or(0)),
                }
                .words(),
                bindings: vec![features, target],
                workgroups: if texels.is_some() {
                    // The upper triangle's tiles of 8x8, 64 per workgroup.
                    let tiles = c.div_ceil(8);
                    [
                        (tiles * (tiles + 1) / 2).div_ceil(64) as u32,
                        1,
                        (n * splits) as u32,
                    ]
                } else {
                    gemm_grid(c, c, n * splits, dev)
                },
            });
            super::conv::sum_splits(&mut lowered, splits, n * c * c);
            lowered
        }
        LossOp::GramBwd => {
            let (n, c, hw) = nchw(outs[0]);
            let params = Params::new().u(c).u(hw).f(1.0 / (c * hw) as f32);
            let workgroups = gemm_grid(c, hw, n, dev);
            let Some(pitch4) = gram_texels(n, c, hw, dev) else {
                return Lowered::one(Dispatch {
                    kernel: if dev.workgroup_gemm {
                        Shader::GramBwd.with(Defines::TILED)
                    } else {
                        Shader::GramBwd.kernel()
                    },
                    params: params.u(0).u(0).done(),
                    bindings: vec![In(0), In(1), Out(0)],
                    workgroups,
                });
            };
            let mut lowered = Lowered::default();
            let f = features_to_texels(&mut lowered, In(1), (n, c, hw), pitch4);
            let c_pitch4 = c.div_ceil(4);
            let len = n * c * c_pitch4;
            let slot = lowered.scratch_texels.len();
            lowered.scratch_texels.push(len as u64);
            lowered.dispatches.push(Dispatch {
                kernel: Shader::GramBwdSym.kernel(),
                params: Params::new().u(n).u(c).u(c_pitch4).done(),
                bindings: vec![In(0), ScratchTexels(slot)],
                workgroups: grid_1d(len),
            });
            lowered.dispatches.push(Dispatch {
                // Rows of whole vec4s are stored as vec4s.
                kernel: if hw.is_multiple_of(4) {
                    Shader::GramBwd.with(Defines::TEXELS.with(Defines::VEC4))
                } else {
                    Shader::GramBwd.with(Defines::TEXELS)
                },
                params: params.u(c_pitch4).u(pitch4).done(),
                bindings: vec![ScratchTexels(slot), f, Out(0)],
                workgroups,
            });
            lowered
        }
    }
}

fn l1_weight_cpu(weight: L1Weight, mask: Option<&[f64]>, s: &[usize], i: usize) -> f64 {
    let (_, c, hw) = nchw(s);
    match (weight, mask) {
        (L1Weight::Known, Some(m)) => m[(i / (c * hw)) * hw + i % hw],
        (L1Weight::Hole, Some(m)) => 1.0 - m[(i / (c * hw)) * hw + i % hw],
        _ => 1.0,
    }
}

/// CPU twin of dilate_holes.
pub fn dilate_holes_cpu(m: &[f64], s: &[usize]) -> Vec<f64> {
    let (n, h, w) = (s[0], s[2] as isize, s[3] as isize);
    let mut out = vec![0.0; m.len()];
    for img in 0..n {
        for y in 0..h {
            for x in 0..w {
                let hit = (-1..=1).any(|dy| {
                    (-1..=1).any(|dx| {
                        let (yy, xx) = (y + dy, x + dx);
                        yy >= 0
                            && xx >= 0
                            && yy < h
                            && xx < w
                            && m[img * (h * w) as usize + (yy * w + xx) as usize] == 0.0
                    })
                });
                out[img * (h * w) as usize + (y * w + x) as usize] = hit as u8 as f64;
            }
        }
    }
    out
}

/// Visits the TV pairs (first, second) whose two pixels are in the region.
fn tv_pairs(s: &[usize], region: &[f64], mut f: impl FnMut(usize, usize)) {
    let (n, c, h, w) = (s[0], s[1], s[2], s[3]);
    for img in 0..n {
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let r = (img * h + y) * w + x;
                    if region[r] == 0.0 {
                        continue;
                    }
                    let i = ((img * c + ch) * h + y) * w + x;
                    if x + 1 < w && region[r + 1] != 0.0 {
                        f(i, i + 1);
                    }
                    if y + 1 < h && region[r + w] != 0.0 {
                        f(i, i + w);
                    }
                }
            }
        }
    }
}

fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

pub(super) fn eval_cpu(op: &LossOp, ins: &[&[f64]], shapes: &[&[usize]]) -> CpuResult {
    match *op {
        LossOp::Composite => {
            let (_, c, hw) = nchw(shapes[0]);
            CpuResult::one(
                (0..ins[0].len())
                    .map(|i| {
                        let m = ins[2][(i / (c * hw)) * hw + i % hw];
                        m * ins[1][i] + (1.0 - m) * ins[0][i]
                    })
                    .collect(),
            )
        }
        LossOp::L1Mean { weight } => {
            let (a, b) = (ins[0], ins[1]);
            let sum: f64 = (0..a.len())
                .map(|i| {
                    (l1_weight_cpu(weight, ins.get(2).copied(), shapes[0], i) * (a[i] - b[i])).abs()
                })
                .sum();
            CpuResult::one(vec![sum / a.len() as f64])
        }
        LossOp::L1MeanBwd { weight } => {
            let (g, a, b) = (ins[0][0], ins[1], ins[2]);
            let n = a.len() as f64;
            CpuResult::one(
                (0..a.len())
                    .map(|i| {
                        let w = l1_weight_cpu(weight, ins.get(3).copied(), shapes[1], i);
                        g / n * w * sign(w * (a[i] - b[i]))
                    })
                    .collect(),
            )
        }
        LossOp::DilateHoles => CpuResult::one(dilate_holes_cpu(ins[0], shapes[0])),
        LossOp::Tv => {
            let comp = ins[0];
            let mut sum = 0.0;
            tv_pairs(shapes[0], ins[1], |i, j| sum += (comp[j] - comp[i]).abs());
            CpuResult::one(vec![sum / comp.len() as f64])
        }
        LossOp::TvBwd => {
            let (g, comp) = (ins[0][0], ins[1]);
            let scale = g / comp.len() as f64;
            let mut gc = vec![0.0; comp.len()];
            tv_pairs(shapes[1], ins[2], |i, j| {
                let s = sign(comp[j] - comp[i]) * scale;
                gc[j] += s;
                gc[i] -= s;
            });
            CpuResult::one(gc)
        }
        LossOp::Gram => {
            let (n, c, hw) = nchw(shapes[0]);
            let f = ins[0];
            let mut g = vec![0.0; n * c * c];
            for img in 0..n {
                for a in 0..c {
                    for b in 0..c {
                        let fa = &f[(img * c + a) * hw..(img * c + a + 1) * hw];
                        let fb = &f[(img * c + b) * hw..(img * c + b + 1) * hw];
                        g[(img * c + a) * c + b] =
                            fa.iter().zip(fb).map(|(x, y)| x * y).sum::<f64>() / (c * hw) as f64;
                    }
                }
            }
            CpuResult::one(g)
        }
        LossOp::GramBwd => {
            let (n, c, hw) = nchw(shapes[1]);
            let (gg, f) = (ins[0], ins[1]);
            let mut gf = vec![0.0; f.len()];
            for img in 0..n {
                for a in 0..c {
                    for d in 0..c {
                        let coef = (gg[(img * c + a) * c + d] + gg[(img * c + d) * c + a])
                            / (c * hw) as f64;
                        for q in 0..hw {
                            gf[(img * c + a) * hw + q] += coef * f[(img * c + d) * hw + q];
                        }
                    }
                }
            }
            CpuResult::one(gf)
        }
    }
}
