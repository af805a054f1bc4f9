//! The ops of the graph. For each family (conv, nn, loss, optim) its module
//! holds the lowering of the op to WGSL kernel dispatches and the op's plain
//! Rust CPU twin (f64), which the tests use as the oracle.
pub mod conv;
pub mod loss;
pub mod nn;
pub mod optim;

use crate::error::{Error, Result};
use crate::kernels::{Defines, Kernel, Shader};
use crate::kernels::{DeviceTraits, HalfStorage, Lowered, MixedKernels};

/// Which pixels an L1 term counts: all, the known ones (M) or the holes (1 − M).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L1Weight {
    None,
    Known,
    Hole,
}

impl L1Weight {
    fn code(self) -> u32 {
        match self {
            L1Weight::None => 0,
            L1Weight::Known => 1,
            L1Weight::Hole => 2,
        }
    }
}

/// One node's operation, by family; each family's module lowers and
/// evaluates its own ops. Tensor arguments are the node's inputs, in the
/// order given in each variant's comment ([x] = optional, see the flags).
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Conv(ConvOp),
    Nn(NnOp),
    Loss(LossOp),
    Optim(OptimOp),
}

/// Convolutions and the partial-convolution mask update (`conv/`).
#[derive(Clone, Debug, PartialEq)]
pub enum ConvOp {
    /// x [N,Ci,H,W], w [Co,Ci,k,k], [b [Co]] -> y [N,Co,Ho,Wo]
    Conv2d {
        stride: usize,
        pad: usize,
        bias: bool,
    },
    /// gy [N,Co,Ho,Wo], w -> gx [N,Ci,h,w]
    Conv2dBwdData {
        stride: usize,
        pad: usize,
        h: usize,
        w: usize,
    },
    /// gy [N,Co,Ho,Wo], x [N,Ci,H,W] -> gw [Co,Ci,k,k]
    Conv2dBwdWeight { stride: usize, pad: usize, k: usize },
    /// mask_a [N,1,H,W], [mask_b] -> ratio [N,1,Ho,Wo], mask [N,1,Ho,Wo]
    PConvMask {
        k: usize,
        stride: usize,
        pad: usize,
        count_a: usize,
        count_b: usize,
    },
}

/// Network layers and tensor plumbing (`nn.rs`).
#[derive(Clone, Debug, PartialEq)]
pub enum NnOp {
    /// x [N,C,H,W], s [N,1,H,W], [b [C]] -> y
    ChannelScale { invert: bool, bias: bool },
    /// Inference's tail of a partial-convolution layer in one pass: raw conv
    /// x [N,C,H,W], ratio [N,1,H,W], new mask [N,1,H,W], [bias [C]],
    /// [gamma, beta, running_mean, running_var [C]] -> y = mask *
    /// act(BN(x * ratio + bias where ratio != 0)), BN with the running
    /// statistics, act a leaky ReLU of `slope`. No backward.
    PConvEpilogue {
        bias: bool,
        bn: bool,
        eps: f32,
        slope: f32,
    },
    /// g [N,C,H,W], [s [N,1,H,W]] -> [C]
    ChannelSum { masked: bool },
    /// x, gamma [C], beta [C], running_mean [C], running_var [C] -> y, mean [C], invstd [C]
    BatchNorm {
        train: bool,
        eps: f32,
        momentum: f32,
    },
    /// g, x, gamma, mean, invstd -> gx, ggamma [C], gbeta [C]
    BatchNormBwd { train: bool },
    /// x -> y
    Activation { slope: f32 },
    /// y, g -> gx
    ActivationBwd { slope: f32 },
    /// x [N,C,H,W] -> y [N,C,2H,2W]
    Upsample2x,
    /// g [N,C,2H,2W] -> gx [N,C,H,W]
    Upsample2xBwd,
    /// a [N,Ca,H,W], b [N,Cb,H,W] -> y [N,Ca+Cb,H,W]
    Concat,
    /// x [N,C,H,W] -> y [N,len,H,W]
    SliceChannels { start: usize, len: usize },
    /// x [N,C,H,W] -> y [N,C,H/2,W/2] (floor)
    MaxPool2,
    /// x, g -> gx
    MaxPool2Bwd,
    /// a, [b] -> alpha a + beta b
    Axpby { alpha: f32, beta: f32 },
    /// x [N,3,H,W] -> x * scale[c] + shift[c]
    ChannelAffine { scale: [f32; 3], shift: [f32; 3] },
}

/// The loss terms' pieces (`loss.rs`).
#[derive(Clone, Debug, PartialEq)]
pub enum LossOp {
    /// out [N,C,H,W], gt, mask [N,1,H,W] -> comp
    Composite,
    /// a, b, [mask] -> [1]
    L1Mean { weight: L1Weight },
    /// g [1], a, b, [mask] -> ga
    L1MeanBwd { weight: L1Weight },
    /// mask [N,1,H,W] -> region [N,1,H,W]
    DilateHoles,
    /// comp [N,C,H,W], region [N,1,H,W] -> [1]
    Tv,
    /// g [1], comp, region -> gcomp
    TvBwd,
    /// f [N,C,H,W] -> [N,C,C]
    Gram,
    /// gg [N,C,C], f -> gf
    GramBwd,
}

/// Optimiser updates, in place (`optim.rs`).
#[derive(Clone, Debug, PartialEq)]
pub enum OptimOp {
    /// step [4], grad, param, m, v (, scaler [4] where `loss_scaled`) ->
    /// (); writes param, m, v (nothing where the scaler marks an overflow)
    Adam {
        beta1: f32,
        beta2: f32,
        eps: f32,
        loss_scaled: bool,
    },
    /// x, avg -> (); writes avg = decay * avg + (1 - decay) * x
    Ema { decay: f32 },
    /// first [1], grad, acc (, scaler [4] where `loss_scaled`) -> ();
    /// writes acc = grad where first[0] != 0, else acc + grad (and marks an
    /// overflow in the scaler where grad has a non-finite value)
    Accumulate { loss_scaled: bool },
    /// scaler [4], seed [1] -> (); writes both: the dynamic loss scale
    /// after a step (halved after an overflow, doubled after
    /// `growth_interval` clean steps)
    LossScale { growth_interval: u32 },
}

fn shape_err(op: &Op, message: String) -> Error {
    Error::Shape {
        op: op.name(),
        message,
    }
}

fn dims4(op: &Op, s: &[usize]) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(s)
        .map_err(|_| shape_err(op, format!("expected a 4-D tensor, got {s:?}")))
}

/// Output size of a convolution window sweep.
pub fn conv_out(len: usize, k: usize, stride: usize, pad: usize) -> Option<usize> {
    (len + 2 * pad).checked_sub(k).map(|v| v / stride + 1)
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv(ConvOp::Conv2d { .. }) => "conv2d",
            Op::Conv(ConvOp::Conv2dBwdData { .. }) => "conv2d_bwd_data",
            Op::Conv(ConvOp::Conv2dBwdWeight { .. }) => "conv2d_bwd_weight",
            Op::Conv(ConvOp::PConvMask { .. }) => "pconv_mask",
            Op::Nn(NnOp::ChannelScale { .. }) => "channel_scale",
            Op::Nn(NnOp::PConvEpilogue { .. }) => "pconv_epilogue",
            Op::Nn(NnOp::ChannelSum { .. }) => "channel_sum",
            Op::Nn(NnOp::BatchNorm { .. }) => "batch_norm",
            Op::Nn(NnOp::BatchNormBwd { .. }) => "batch_norm_bwd",
            Op::Nn(NnOp::Activation { .. }) => "activation",
            Op::Nn(NnOp::ActivationBwd { .. }) => "activation_bwd",
            Op::Nn(NnOp::Upsample2x) => "upsample2x",
            Op::Nn(NnOp::Upsample2xBwd) => "upsample2x_bwd",
            Op::Nn(NnOp::Concat) => "concat",
            Op::Nn(NnOp::SliceChannels { .. }) => "slice_channels",
            Op::Nn(NnOp::MaxPool2) => "max_pool2",
            Op::Nn(NnOp::MaxPool2Bwd) => "max_pool2_bwd",
            Op::Nn(NnOp::Axpby { .. }) => "axpby",
            Op::Nn(NnOp::ChannelAffine { .. }) => "channel_affine",
            Op::Loss(LossOp::Composite) => "composite",
            Op::Loss(LossOp::L1Mean { .. }) => "l1_mean",
            Op::Loss(LossOp::L1MeanBwd { .. }) => "l1_mean_bwd",
            Op::Loss(LossOp::DilateHoles) => "dilate_holes",
            Op::Loss(LossOp::Tv) => "tv",
            Op::Loss(LossOp::TvBwd) => "tv_bwd",
            Op::Loss(LossOp::Gram) => "gram",
            Op::Loss(LossOp::GramBwd) => "gram_bwd",
            Op::Optim(OptimOp::Adam { .. }) => "adam",
            Op::Optim(OptimOp::Ema { .. }) => "ema",
            Op::Optim(OptimOp::Accumulate { .. }) => "accumulate",
            Op::Optim(OptimOp::LossScale { .. }) => "loss_scale",
        }
    }

    /// Inputs a gradient flows to (masks, targets and state never get one).
    pub fn differentiable_inputs(&self) -> &'static [usize] {
        match self {
            Op::Conv(ConvOp::Conv2d { .. }) => &[0, 1, 2],
            Op::Nn(NnOp::ChannelScale { .. }) => &[0, 2],
            Op::Nn(NnOp::BatchNorm { .. }) => &[0, 1, 2],
            Op::Nn(NnOp::Activation { .. })
            | Op::Nn(NnOp::Upsample2x)
            | Op::Nn(NnOp::MaxPool2)
            | Op::Nn(NnOp::ChannelAffine { .. })
            | Op::Loss(LossOp::Composite)
            | Op::Loss(LossOp::L1Mean { .. })
            | Op::Loss(LossOp::Tv)
            | Op::Loss(LossOp::Gram) => &[0],
            Op::Nn(NnOp::Concat) | Op::Nn(NnOp::Axpby { .. }) => &[0, 1],
            _ => &[],
        }
    }

    /// Inputs the op updates in place (persistent state).
    pub fn written_inputs(&self) -> &'static [usize] {
        match self {
            Op::Nn(NnOp::BatchNorm { train: true, .. }) => &[3, 4],
            Op::Optim(OptimOp::Adam { .. }) => &[2, 3, 4],
            Op::Optim(OptimOp::Ema { .. }) => &[1],
            Op::Optim(OptimOp::Accumulate { loss_scaled: false }) => &[2],
            Op::Optim(OptimOp::Accumulate { loss_scaled: true }) => &[2, 3],
            Op::Optim(OptimOp::LossScale { .. }) => &[0, 1],
            _ => &[],
        }
    }

    fn expect_inputs(&self, n: usize, got: usize) -> Result<()> {
        if n == got {
            Ok(())
        } else {
            Err(shape_err(self, format!("expected {n} inputs, got {got}")))
        }
    }

    /// Number of inputs, given the op's flags.
    pub fn arity(&self) -> usize {
        match self {
            Op::Conv(ConvOp::Conv2d { bias, .. }) => 2 + *bias as usize,
            Op::Conv(ConvOp::Conv2dBwdData { .. }) | Op::Conv(ConvOp::Conv2dBwdWeight { .. }) => 2,
            Op::Conv(ConvOp::PConvMask { count_b, .. }) => 1 + (*count_b > 0) as usize,
            Op::Nn(NnOp::ChannelScale { bias, .. }) => 2 + *bias as usize,
            Op::Nn(NnOp::PConvEpilogue { bias, bn, .. }) => 3 + *bias as usize + 4 * *bn as usize,
            Op::Nn(NnOp::ChannelSum { masked }) => 1 + *masked as usize,
            Op::Nn(NnOp::BatchNorm { .. }) | Op::Nn(NnOp::BatchNormBwd { .. }) => 5,
            Op::Optim(OptimOp::Adam { loss_scaled, .. }) => 5 + *loss_scaled as usize,
            Op::Nn(NnOp::ActivationBwd { .. })
            | Op::Nn(NnOp::Concat)
            | Op::Nn(NnOp::MaxPool2Bwd)
            | Op::Loss(LossOp::Tv)
            | Op::Loss(LossOp::GramBwd)
            | Op::Optim(OptimOp::Ema { .. })
            | Op::Optim(OptimOp::LossScale { .. }) => 2,
            Op::Optim(OptimOp::Accumulate { loss_scaled }) => 3 + *loss_scaled as usize,
            Op::Nn(NnOp::Activation { .. })
            | Op::Nn(NnOp::Upsample2x)
            | Op::Nn(NnOp::Upsample2xBwd)
            | Op::Nn(NnOp::SliceChannels { .. })
            | Op::Nn(NnOp::MaxPool2)
            | Op::Nn(NnOp::ChannelAffine { .. })
            | Op::Loss(LossOp::DilateHoles)
            | Op::Loss(LossOp::Gram) => 1,
            Op::Nn(NnOp::Axpby { beta, .. }) => 1 + (*beta != 0.0) as usize,
            Op::Loss(LossOp::Composite) | Op::Loss(LossOp::TvBwd) => 3,
            Op::Loss(LossOp::L1Mean { weight }) => 2 + (*weight != L1Weight::None) as usize,
            Op::Loss(LossOp::L1MeanBwd { weight }) => 3 + (*weight != L1Weight::None) as usize,
        }
    }

    /// Checks the input shapes and returns the output shapes.
    pub fn output_shapes(&self, ins: &[&[usize]]) -> Result<Vec<Vec<usize>>> {
        self.expect_inputs(self.arity(), ins.len())?;
        let same = |a: &[usize], b: &[usize], what: &str| -> Result<()> {
            if a == b {
                Ok(())
            } else {
                Err(shape_err(self, format!("{what}: {a:?} vs {b:?}")))
            }
        };
        let mask_of = |x: &[usize], m: &[usize]| -> Result<()> {
            if m.len() == 4 && x.len() == 4 && m[0] == x[0] && m[1] == 1 && m[2..] == x[2..] {
                Ok(())
            } else {
                Err(shape_err(
                    self,
                    format!("mask {m:?} does not fit tensor {x:?}"),
                ))
            }
        };
        match self {
            Op::Conv(ConvOp::Conv2d { stride, pad, bias }) => {
                let [n, ci, h, w] = dims4(self, ins[0])?;
                let [co, wci, k, k2] = dims4(self, ins[1])?;
                if wci != ci || k != k2 || *stride == 0 {
                    return Err(shape_err(
                        self,
                        format!("weight {:?} does not fit input {:?}", ins[1], ins[0]),
                    ));
                }
                if *bias {
                    same(ins[2], &[co], "bias")?;
                }
                let ho = conv_out(h, k, *stride, *pad)
                    .ok_or_else(|| shape_err(self, "kernel larger than padded input".into()))?;
                let wo = conv_out(w, k, *stride, *pad)
                    .ok_or_else(|| shape_err(self, "kernel larger than padded input".into()))?;
                Ok(vec![vec![n, co, ho, wo]])
            }
            Op::Conv(ConvOp::Conv2dBwdData { h, w, .. }) => {
                let [n, co, _, _] = dims4(self, ins[0])?;
                let [wco, ci, _, _] = dims4(self, ins[1])?;
                if wco != co {
                    return Err(shape_err(self, "weight/gradient channel mismatch".into()));
                }
                Ok(vec![vec![n, ci, *h, *w]])
            }
            Op::Conv(ConvOp::Conv2dBwdWeight { k, .. }) => {
                let [n, co, _, _] = dims4(self, ins[0])?;
                let [xn, ci, _, _] = dims4(self, ins[1])?;
                if xn != n {
                    return Err(shape_err(self, "batch mismatch".into()));
                }
                Ok(vec![vec![co, ci, *k, *k]])
            }
            Op::Conv(ConvOp::PConvMask { k, stride, pad, .. }) => {
                let [n, c, h, w] = dims4(self, ins[0])?;
                if c != 1 {
                    return Err(shape_err(self, "masks have one channel".into()));
                }
                if ins.len() > 1 {
                    same(ins[0], ins[1], "second mask")?;
                }
                let ho = conv_out(h, *k, *stride, *pad)
                    .ok_or_else(|| shape_err(self, "kernel larger than padded input".into()))?;
                let wo = conv_out(w, *k, *stride, *pad)
                    .ok_or_else(|| shape_err(self, "kernel larger than padded input".into()))?;
                Ok(vec![vec![n, 1, ho, wo], vec![n, 1, ho, wo]])
            }
            Op::Nn(NnOp::ChannelScale { invert, bias }) => {
                mask_of(ins[0], ins[1])?;
                if *bias {
                    if *invert {
                        return Err(shape_err(
                            self,
                            "a bias with an inverted scale is not supported".into(),
                        ));
                    }
                    same(ins[2], &ins[0][1..2], "bias")?;
                }
                Ok(vec![ins[0].to_vec()])
            }
            Op::Nn(NnOp::PConvEpilogue { .. }) => {
                let [_, c, _, _] = dims4(self, ins[0])?;
                mask_of(ins[0], ins[1])?;
                mask_of(ins[0], ins[2])?;
                for s in &ins[3..] {
                    same(s, &[c], "per-channel parameter")?;
                }
                Ok(vec![ins[0].to_vec()])
            }
            Op::Nn(NnOp::ChannelSum { masked }) => {
                let [_, c, _, _] = dims4(self, ins[0])?;
                if *masked {
                    mask_of(ins[0], ins[1])?;
                }
                Ok(vec![vec![c]])
            }
            Op::Nn(NnOp::BatchNorm { .. }) => {
                let [_, c, _, _] = dims4(self, ins[0])?;
                for s in &ins[1..] {
                    same(s, &[c], "per-channel parameter")?;
                }
                Ok(vec![ins[0].to_vec(), vec![c], vec![c]])
            }
            Op::Nn(NnOp::BatchNormBwd { .. }) => {
                same(ins[0], ins[1], "gradient vs input")?;
                let c = dims4(self, ins[0])?[1];
                for s in &ins[2..] {
                    same(s, &[c], "per-channel parameter")?;
                }
                Ok(vec![ins[0].to_vec(), vec![c], vec![c]])
            }
            Op::Nn(NnOp::Activation { .. }) => Ok(vec![ins[0].to_vec()]),
            Op::Nn(NnOp::ActivationBwd { .. }) | Op::Nn(NnOp::MaxPool2Bwd) => {
                if matches!(self, Op::Nn(NnOp::ActivationBwd { .. })) {
                    same(ins[0], ins[1], "gradient")?;
                }
                Ok(vec![ins[0].to_vec()])
            }
            Op::Nn(NnOp::Upsample2x) => {
                let [n, c, h, w] = dims4(self, ins[0])?;
                Ok(vec![vec![n, c, 2 * h, 2 * w]])
            }
            Op::Nn(NnOp::Upsample2xBwd) => {
                let [n, c, h, w] = dims4(self, ins[0])?;
                if !h.is_multiple_of(2) || !w.is_multiple_of(2) {
                    return Err(shape_err(self, "odd gradient size".into()));
                }
                Ok(vec![vec![n, c, h / 2, w / 2]])
            }
            Op::Nn(NnOp::Concat) => {
                let [n, ca, h, w] = dims4(self, ins[0])?;
                let [nb, cb, hb, wb] = dims4(self, ins[1])?;
                if (n, h, w) != (nb, hb, wb) {
                    return Err(shape_err(self, format!("{:?} vs {:?}", ins[0], ins[1])));
                }
                Ok(vec![vec![n, ca + cb, h, w]])
            }
            Op::Nn(NnOp::SliceChannels { start, len }) => {
                let [n, c, h, w] = dims4(self, ins[0])?;
                if start + len > c {
                    return Err(shape_err(self, "slice out of range".into()));
                }
                Ok(vec![vec![n, *len, h, w]])
            }
            Op::Nn(NnOp::MaxPool2) => {
                let [n, c, h, w] = dims4(self, ins[0])?;
                if h < 2 || w < 2 {
                    return Err(shape_err(self, "input smaller than the window".into()));
                }
                Ok(vec![vec![n, c, h / 2, w / 2]])
            }
            Op::Nn(NnOp::Axpby { .. }) => {
                if ins.len() > 1 {
                    same(ins[0], ins[1], "operands")?;
                }
                Ok(vec![ins[0].to_vec()])
            }
            Op::Nn(NnOp::ChannelAffine { .. }) => {
                let [_, c, _, _] = dims4(self, ins[0])?;
                if c != 3 {
                    return Err(shape_err(self, "expects 3-channel images".into()));
                }
                Ok(vec![ins[0].to_vec()])
            }
            Op::Loss(LossOp::Composite) => {
                same(ins[0], ins[1], "output vs ground truth")?;
                mask_of(ins[0], ins[2])?;
                Ok(vec![ins[0].to_vec()])
            }
            Op::Loss(LossOp::L1Mean { weight }) => {
                same(ins[0], ins[1], "operands")?;
                if *weight != L1Weight::None {
                    mask_of(ins[0], ins[2])?;
                } else if ins[0].len() < 2 {
                    return Err(shape_err(self, "expects at least 2 dimensions".into()));
                }
                Ok(vec![vec![1]])
            }
            Op::Loss(LossOp::L1MeanBwd { weight }) => {
                same(ins[1], ins[2], "operands")?;
                if *weight != L1Weight::None {
                    mask_of(ins[1], ins[3])?;
                }
                Ok(vec![ins[1].to_vec()])
            }
            Op::Loss(LossOp::DilateHoles) => {
                let [_, c, _, _] = dims4(self, ins[0])?;
                if c != 1 {
                    return Err(shape_err(self, "masks have one channel".into()));
                }
                Ok(vec![ins[0].to_vec()])
            }
            Op::Loss(LossOp::Tv) => {
                mask_of(ins[0], ins[1])?;
                Ok(vec![vec![1]])
            }
            Op::Loss(LossOp::TvBwd) => {
                mask_of(ins[1], ins[2])?;
                Ok(vec![ins[1].to_vec()])
            }
            Op::Loss(LossOp::Gram) => {
                let [n, c, _, _] = dims4(self, ins[0])?;
                Ok(vec![vec![n, c, c]])
            }
            Op::Loss(LossOp::GramBwd) => {
                let [n, c, _, _] = dims4(self, ins[1])?;
                same(ins[0], &[n, c, c], "Gram gradient")?;
                Ok(vec![ins[1].to_vec()])
            }
            Op::Optim(OptimOp::Adam { loss_scaled, .. }) => {
                same(ins[0], &[4], "step scalars")?;
                for s in &ins[2..5] {
                    same(ins[1], s, "gradient/parameter/moments")?;
                }
                if *loss_scaled {
                    same(ins[5], &[4], "loss scaler")?;
                }
                Ok(vec![])
            }
            Op::Optim(OptimOp::Ema { .. }) => {
                same(ins[0], ins[1], "tensor/average")?;
                Ok(vec![])
            }
            Op::Optim(OptimOp::Accumulate { loss_scaled }) => {
                same(ins[0], &[1], "first-micro-batch flag")?;
                same(ins[1], ins[2], "gradient/accumulator")?;
                if *loss_scaled {
                    same(ins[3], &[4], "loss scaler")?;
                }
                Ok(vec![])
            }
            Op::Optim(OptimOp::LossScale { .. }) => {
                same(ins[0], &[4], "loss scaler")?;
                same(ins[1], &[1], "loss seed")?;
                Ok(vec![])
            }
        }
    }

    /// The activation tensors this op's f16-storage kernel variants read
    /// and write as f16 (`HalfStorage`): (input positions, output
    /// positions); none where it has no such variant on this device and
    /// these shapes. Masks, mask ratios, biases, BatchNorm's inputs and
    /// statistics, the losses' sums, Gram matrices and everything of the
    /// optimiser stay f32, as under autocast.
    pub fn half_io(
        &self,
        ins: &[&[usize]],
        dev: &DeviceTraits,
    ) -> (&'static [usize], &'static [usize]) {
        const NONE: (&[usize], &[usize]) = (&[], &[]);
        match self {
            Op::Conv(op) if dev.mixed != MixedKernels::Off && conv::runs_mixed(op, ins) => match op
            {
                ConvOp::Conv2d { .. } | ConvOp::Conv2dBwdData { .. } => (&[0], &[0]),
                ConvOp::Conv2dBwdWeight { .. } => (&[0, 1], &[]),
                ConvOp::PConvMask { .. } => NONE,
            },
            Op::Nn(NnOp::Activation { .. })
            | Op::Nn(NnOp::Upsample2x)
            | Op::Nn(NnOp::Upsample2xBwd)
            | Op::Nn(NnOp::SliceChannels { .. })
            | Op::Nn(NnOp::MaxPool2)
            | Op::Nn(NnOp::ChannelScale { .. })
            | Op::Nn(NnOp::ChannelAffine { .. })
            | Op::Nn(NnOp::PConvEpilogue { .. }) => (&[0], &[0]),
            Op::Nn(NnOp::ActivationBwd { .. })
            | Op::Nn(NnOp::Concat)
            | Op::Nn(NnOp::MaxPool2Bwd) => (&[0, 1], &[0]),
            // The losses read features as f16 and sum in f32; Gram
            // matrices stay f32 (through texel arrays on CPU adapters,
            // f32 features).
            Op::Loss(LossOp::L1Mean { .. }) => (&[0, 1], &[]),
            Op::Loss(LossOp::L1MeanBwd { .. }) => (&[1, 2], &[0]),
            Op::Loss(LossOp::Gram) if !loss::gram_reads_texels(ins[0], dev) => (&[0], &[]),
            Op::Loss(LossOp::GramBwd) if !loss::gram_reads_texels(ins[1], dev) => (&[1], &[0]),
            // BatchNorm reads f32: centring a channel whose mean is large
            // against its spread cancels most of an f16 value's bits (the
            // gradient of a tiny network's last layer moved by 1.2 % from
            // f32 training with f16 inputs, 0.26 % without). Its result
            // may be f16.
            Op::Nn(NnOp::BatchNorm { .. }) | Op::Nn(NnOp::BatchNormBwd { .. }) => (&[], &[0]),
            Op::Nn(NnOp::Axpby { .. }) if ins.len() > 1 => (&[0, 1], &[0]),
            Op::Nn(NnOp::Axpby { .. }) => (&[0], &[0]),
            _ => NONE,
        }
    }

    /// The kernel dispatches that compute this op on the GPU, with its
    /// activations stored as `half` says (only where `half_io` names some).
    pub fn lower(
        &self,
        ins: &[&[usize]],
        outs: &[&[usize]],
        dev: &DeviceTraits,
        half: HalfStorage,
    ) -> Lowered {
        match self {
            Op::Conv(op) => conv::lower(op, ins, outs, dev, half),
            Op::Nn(op) => nn::lower(op, ins, outs).with_half(half),
            Op::Loss(op) => loss::lower(op, ins, outs, dev).with_half(half),
            Op::Optim(op) => optim::lower(op, ins),
        }
    }

    /// The dispatches of this op followed by a leaky ReLU of `slope` on its
    /// (first) output, in its kernel, where such a fused kernel exists (a
    /// forward convolution in mixed precision, BatchNorm); None elsewhere.
    pub fn lower_with_activation(
        &self,
        ins: &[&[usize]],
        dev: &DeviceTraits,
        half: HalfStorage,
        slope: f32,
    ) -> Option<Lowered> {
        match self {
            Op::Conv(op) => conv::lower_with_activation(op, ins, dev, half, slope),
            Op::Nn(op) => nn::lower_with_activation(op, ins, slope).map(|l| l.with_half(half)),
            _ => None,
        }
    }

    /// The CPU twin: outputs, plus new values of the inputs written in place.
    pub fn eval_cpu(
        &self,
        ins: &[&[f64]],
        in_shapes: &[&[usize]],
        out_shapes: &[Vec<usize>],
    ) -> CpuResult {
        match self {
            Op::Conv(op) => conv::eval_cpu(op, ins, in_shapes, out_shapes),
            Op::Nn(op) => nn::eval_cpu(op, ins, in_shapes, out_shapes),
            Op::Loss(op) => loss::eval_cpu(op, ins, in_shapes),
            Op::Optim(op) => optim::eval_cpu(op, ins),
        }
    }
}

/// What a CPU twin returns.
#[derive(Default)]
pub struct CpuResult {
    pub outputs: Vec<Vec<f64>>,
    pub written: Vec<(usize, Vec<f64>)>,
}

impl CpuResult {
    pub fn one(v: Vec<f64>) -> Self {
        CpuResult {
            outputs: vec![v],
            written: vec![],
        }
    }
}

/// The `vec4` variant of an element-wise kernel and its invocations for
/// `len` values where they are whole vec4s, else the scalar one (lavapipe
/// loads a vec4 for about the price of a float).
pub(crate) fn vec4_or(shader: Shader, len: usize) -> (Kernel, usize) {
    if len.is_multiple_of(4) {
        (shader.with(Defines::VEC4), len / 4)
    } else {
        (shader.kernel(), len)
    }
}

/// `vec4_or` for kernels that index planes of `hw` values (per-pixel or
/// per-channel operands): the vec4 variant where every plane holds whole
/// vec4s, so that the 4 values of an invocation share image and channel.
pub(crate) fn vec4_planes(shader: Shader, hw: usize, len: usize) -> (Kernel, usize) {
    if hw.is_multiple_of(4) {
        (shader.with(Defines::VEC4), len / 4)
    } else {
        (shader.kernel(), len)
    }
}
