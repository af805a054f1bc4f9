//! Convolution family: conv forward / backward-data / backward-weight as
//! implicit GEMMs or unrolled row kernels (`shaders/conv/`), one module per
//! direction, each with its kernel choice; the staging copies they read
//! (padding, texel arrays, packed weights); the partial-convolution mask
//! update; and the CPU twins.
mod backward_data;
mod backward_weight;
mod cpu;
mod forward;
mod mask;
pub mod mixed;
mod staging;

pub(super) use cpu::eval_cpu;
pub use cpu::{
    conv2d_bwd_data_cpu, conv2d_bwd_weight_cpu, conv2d_cpu, pconv_mask_cpu, ConvDims, Window,
};
pub(super) use staging::padded_copy;

use super::ConvOp;
use crate::kernels::{
    grid_1d, Binding, DeviceTraits, Dispatch, HalfStorage, Lowered, MixedKernels, Params, Shader,
    LOOP_BUDGET,
};

/// One way to run a convolution direction: where it applies, how it is
/// lowered, and why it is preferred there (measured). Each direction lists
/// its candidates in order; the first that applies runs, and the last
/// applies to every shape.
pub(super) struct Candidate<A> {
    pub name: &'static str,
    pub applies: fn(&A) -> bool,
    pub lower: fn(&A, &DeviceTraits) -> Lowered,
    pub why: &'static str,
}

/// A 4-D shape as an array.
fn four(shape: &[usize]) -> [usize; 4] {
    shape.try_into().expect("a 4-D tensor")
}

/// The first of `candidates` that applies to `args`.
pub(super) fn choose<A>(candidates: &[Candidate<A>], args: &A, dev: &DeviceTraits) -> Lowered {
    let c = candidates
        .iter()
        .find(|c| (c.applies)(args))
        .expect("the last candidate applies to every shape");
    log::debug!("convolution lowered by {}: {}", c.name, c.why);
    (c.lower)(args, dev)
}

pub(super) fn lower(
    op: &ConvOp,
    ins: &[&[usize]],
    outs: &[&[usize]],
    dev: &DeviceTraits,
    half: HalfStorage,
) -> Lowered {
    if dev.mixed != MixedKernels::Off {
        if let Some((conv, pass, bindings)) = mixed_conv(op, ins) {
            return conv.lower(pass, bindings, dev, half);
        }
    }
    match *op {
        ConvOp::Conv2d { stride, pad, bias } => forward::lower(stride, pad, bias, ins, outs, dev),
        ConvOp::Conv2dBwdData { stride, pad, h, w } => {
            let args = backward_data::Args {
                gy: four(ins[0]),
                w: four(ins[1]),
                stride,
                pad,
                h,
                wd: w,
            };
            choose(&backward_data::CANDIDATES, &args, dev)
        }
        ConvOp::Conv2dBwdWeight { stride, pad, k } => {
            let args = backward_weight::Args {
                gy: four(ins[0]),
                x: four(ins[1]),
                stride,
                pad,
                k,
            };
            choose(&backward_weight::CANDIDATES, &args, dev)
        }
        ConvOp::PConvMask {
            k,
            stride,
            pad,
            count_a,
            count_b,
        } => mask::lower(k, stride, pad, count_a, count_b, ins, outs),
    }
}

/// A forward convolution whose result goes through a leaky ReLU of `slope`
/// in the same kernel (the mixed-precision tiles' epilogue, or the sum of
/// their chunks), where mixed precision runs it; None elsewhere.
pub(super) fn lower_with_activation(
    op: &ConvOp,
    ins: &[&[usize]],
    dev: &DeviceTraits,
    half: HalfStorage,
    slope: f32,
) -> Option<Lowered> {
    if dev.mixed == MixedKernels::Off || !matches!(op, ConvOp::Conv2d { .. }) {
        return None;
    }
    let (conv, pass, bindings) = mixed_conv(op, ins)?;
    let conv = mixed::MixedConv {
        activation: Some(slope),
        ..conv
    };
    Some(conv.lower(pass, bindings, dev, half))
}

/// Whether `op` on inputs of shapes `ins` runs as a mixed-precision GEMM
/// where mixed precision is on (else the f32 kernels run it).
pub(super) fn runs_mixed(op: &ConvOp, ins: &[&[usize]]) -> bool {
    mixed_conv(op, ins).is_some()
}

/// The three convolution directions in mixed precision (`mixed::MixedConv`)
/// with the (gathered, left, bias) bindings; None for the mask update and
/// for shapes beyond the kernel's grid, which stay f32.
fn mixed_conv(
    op: &ConvOp,
    ins: &[&[usize]],
) -> Option<(
    mixed::MixedConv,
    mixed::MixedPass,
    (Binding, Binding, Binding),
)> {
    use mixed::{MixedConv, MixedPass};
    let conv = |x: [usize; 4], w: [usize; 4], stride, pad, bias| {
        let win = Window {
            k: w[2],
            stride,
            pad,
        };
        MixedConv::new((x[0], x[1], x[2], x[3]), w[0], win, bias).ok()
    };
    let (i0, i1) = (Binding::Input(0), Binding::Input(1));
    match *op {
        ConvOp::Conv2d { stride, pad, bias } => {
            let b = if bias {
                Binding::Input(2)
            } else {
                Binding::Unused
            };
            let c = conv(four(ins[0]), four(ins[1]), stride, pad, bias)?;
            Some((c, MixedPass::Forward, (i0, i1, b)))
        }
        ConvOp::Conv2dBwdData { stride, pad, h, w } => {
            let (gy, wt) = (four(ins[0]), four(ins[1]));
            let c = conv([gy[0], wt[1], h, w], wt, stride, pad, false)?;
            Some((c, MixedPass::BackwardData, (i0, i1, Binding::Unused)))
        }
        ConvOp::Conv2dBwdWeight { stride, pad, k } => {
            let (gy, x) = (four(ins[0]), four(ins[1]));
            let c = conv(x, [gy[1], x[1], k, k], stride, pad, false)?;
            Some((c, MixedPass::BackwardWeight, (i1, i0, Binding::Unused)))
        }
        ConvOp::PConvMask { .. } => None,
    }
}

/// Outputs per invocation along each GEMM dimension (8x8 register tiles) and
/// invocations per workgroup along each grid dimension (workgroup 8x8).
const BLOCK: usize = 8;

/// Grid for kernels where invocation (x, y) computes an 8x8 block and the
/// workgroup is 8x8 invocations.
pub fn block_grid(threads_x: usize, threads_y: usize, z: usize) -> [u32; 3] {
    [
        threads_x.div_ceil(BLOCK) as u32,
        threads_y.div_ceil(BLOCK) as u32,
        z as u32,
    ]
}

/// Split of the backward-weight reduction over `rows` output rows (n, oy)
/// into chunks so that about `dev.parallel_workgroups` workgroups run;
/// returns (rows per chunk, chunks).
/// Chunks are also kept short enough (`iterations_per_row` loop steps per
/// row) to stay within `LOOP_BUDGET`.
pub fn weight_grad_split(
    workgroups: usize,
    rows: usize,
    iterations_per_row: usize,
    dev: &DeviceTraits,
) -> (usize, usize) {
    let wanted = (dev.parallel_workgroups as usize)
        .div_ceil(workgroups.max(1))
        .max(1);
    let splits = wanted.min(rows.max(1)).min(65535);
    let max_rows = (LOOP_BUDGET / iterations_per_row.max(1)).max(1);
    let per = rows.max(1).div_ceil(splits).min(max_rows);
    (per, rows.max(1).div_ceil(per))
}

/// Where a split-K kernel writes: the output itself, or with more than
/// one split the scratch slot `sum_splits` adds next.
pub(super) fn split_target(lowered: &Lowered, splits: usize) -> Binding {
    if splits == 1 {
        Binding::Output(0)
    } else {
        Binding::Scratch(lowered.scratch_bytes.len())
    }
}

/// With more than one chunk, the `splits` partial sums of `len` values a
/// split-K kernel wrote into the next scratch slot are added into the output
/// (the backward-weight kernels and the Gram matrices).
pub(super) fn sum_splits(lowered: &mut Lowered, splits: usize, len: usize) {
    sum_splits_then(lowered, splits, len, None);
}

/// `sum_splits`, the sums then through a leaky ReLU of `activation`'s
/// slope where given (a fused activation).
pub(super) fn sum_splits_then(
    lowered: &mut Lowered,
    splits: usize,
    len: usize,
    activation: Option<f32>,
) {
    if splits > 1 {
        let slot = lowered.scratch_bytes.len();
        lowered.scratch_bytes.push((splits * len * 4) as u64);
        lowered.dispatches.push(Dispatch {
            kernel: Shader::SumSplits.kernel(),
            params: Params::new()
                .u(len)
                .u(splits)
                .b(activation.is_some())
                .f(activation.unwrap_or(0.0))
                .done(),
            bindings: vec![Binding::Scratch(slot), Binding::Output(0)],
            workgroups: grid_1d(len),
        });
    }
}
