use crate::error::{Error, Result};
use crate::ops::{ConvOp, L1Weight, LossOp, NnOp, Op, OptimOp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(pub u32);

impl TensorId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a tensor's values come from and how long its buffer lives.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorKind {
    /// Written by the host before a run (images, masks, step scalars).
    Input,
    /// Trainable or frozen weights; persistent.
    Param,
    /// Persistent state updated in place (BatchNorm running stats, Adam moments).
    State,
    /// Fixed values known when the graph is built.
    Const(Vec<f32>),
    /// Produced by a node; its buffer is reused once it is dead.
    Intermediate,
}

/// BatchNorm's epsilon (spec).
const BN_EPS: f32 = 1e-5;

#[derive(Clone, Debug)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<usize>,
    pub kind: TensorKind,
    pub requires_grad: bool,
}

impl TensorInfo {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn bytes(&self) -> u64 {
        (self.numel().max(1) * 4) as u64
    }
    pub fn is_persistent(&self) -> bool {
        self.kind != TensorKind::Intermediate
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    pub op: Op,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
}

/// A graph of ops over tensor handles, built once per shape. Nodes are kept
/// in execution order (every builder call appends), so the node list is a
/// topological order.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub tensors: Vec<TensorInfo>,
    pub nodes: Vec<Node>,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn info(&self, t: TensorId) -> &TensorInfo {
        &self.tensors[t.index()]
    }

    pub fn shape(&self, t: TensorId) -> &[usize] {
        &self.tensors[t.index()].shape
    }

    fn add_tensor(
        &mut self,
        name: &str,
        shape: Vec<usize>,
        kind: TensorKind,
        rg: bool,
    ) -> TensorId {
        self.tensors.push(TensorInfo {
            name: name.to_string(),
            shape,
            kind,
            requires_grad: rg,
        });
        TensorId(self.tensors.len() as u32 - 1)
    }

    pub fn input(&mut self, name: &str, shape: &[usize]) -> TensorId {
        self.add_tensor(name, shape.to_vec(), TensorKind::Input, false)
    }

    /// A weight; `trainable` ones get gradients.
    pub fn param(&mut self, name: &str, shape: &[usize], trainable: bool) -> TensorId {
        self.add_tensor(name, shape.to_vec(), TensorKind::Param, trainable)
    }

    pub fn state(&mut self, name: &str, shape: &[usize]) -> TensorId {
        self.add_tensor(name, shape.to_vec(), TensorKind::State, false)
    }

    pub fn constant(&mut self, name: &str, shape: &[usize], values: Vec<f32>) -> TensorId {
        self.add_tensor(name, shape.to_vec(), TensorKind::Const(values), false)
    }

    /// Appends a node after checking shapes; returns its outputs.
    pub fn push(&mut self, op: Op, inputs: &[TensorId]) -> Result<Vec<TensorId>> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|&t| self.shape(t)).collect();
        let out_shapes = op.output_shapes(&shapes)?;
        let rg = op
            .differentiable_inputs()
            .iter()
            .any(|&i| inputs.get(i).is_some_and(|&t| self.info(t).requires_grad));
        let name = op.name();
        let outputs = out_shapes
            .into_iter()
            .map(|s| self.add_tensor(name, s, TensorKind::Intermediate, rg))
            .collect::<Vec<_>>();
        self.nodes.push(Node {
            op,
            inputs: inputs.to_vec(),
            outputs: outputs.clone(),
        });
        Ok(outputs)
    }

    fn push1(&mut self, op: Op, inputs: &[TensorId]) -> Result<TensorId> {
        Ok(self.push(op, inputs)?[0])
    }

    // ---- builder: one method per forward op -------------------------------

    pub fn conv2d(
        &mut self,
        x: TensorId,
        w: TensorId,
        b: Option<TensorId>,
        stride: usize,
        pad: usize,
    ) -> Result<TensorId> {
        let mut ins = vec![x, w];
        ins.extend(b);
        self.push1(
            Op::Conv(ConvOp::Conv2d {
                stride,
                pad,
                bias: b.is_some(),
            }),
            &ins,
        )
    }

    /// Partial-convolution mask update for a layer whose input mask is
    /// `mask_a` (repeated over `count_a` channels) and optionally `mask_b`
    /// (`count_b` channels, concatenated after). Returns (ratio, new mask).
    pub fn pconv_mask(
        &mut self,
        mask_a: (TensorId, usize),
        mask_b: Option<(TensorId, usize)>,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Result<(TensorId, TensorId)> {
        let mut ins = vec![mask_a.0];
        ins.extend(mask_b.map(|m| m.0));
        let op = Op::Conv(ConvOp::PConvMask {
            k,
            stride,
            pad,
            count_a: mask_a.1,
            count_b: mask_b.map_or(0, |m| m.1),
        });
        let out = self.push(op, &ins)?;
        Ok((out[0], out[1]))
    }

    /// y = x * s (broadcast over channels), or x * (1 - s) with `invert`;
    /// with a bias, `+ b[c]` where the scale is non-zero.
    pub fn channel_scale(
        &mut self,
        x: TensorId,
        s: TensorId,
        invert: bool,
        bias: Option<TensorId>,
    ) -> Result<TensorId> {
        let mut ins = vec![x, s];
        ins.extend(bias);
        self.push1(
            Op::Nn(NnOp::ChannelScale {
                invert,
                bias: bias.is_some(),
            }),
            &ins,
        )
    }

    /// Partial convolution (spec): conv of the masked input, rescaled by the
    /// window's mask ratio, bias added on valid positions only. `x` must
    /// already be masked (X ⊙ M). Returns (output, new mask).
    #[allow(clippy::too_many_arguments)]
    pub fn partial_conv(
        &mut self,
        xm: TensorId,
        mask_a: (TensorId, usize),
        mask_b: Option<(TensorId, usize)>,
        w: TensorId,
        b: Option<TensorId>,
        stride: usize,
        pad: usize,
    ) -> Result<(TensorId, TensorId)> {
        let (raw, ratio, mask) = self.partial_conv_raw(xm, mask_a, mask_b, w, stride, pad)?;
        let out = self.channel_scale(raw, ratio, false, b)?;
        Ok((out, mask))
    }

    /// The parts of `partial_conv` before its rescale: (raw convolution,
    /// mask ratio, new mask).
    pub fn partial_conv_raw(
        &mut self,
        xm: TensorId,
        mask_a: (TensorId, usize),
        mask_b: Option<(TensorId, usize)>,
        w: TensorId,
        stride: usize,
        pad: usize,
    ) -> Result<(TensorId, TensorId, TensorId)> {
        let k = self.shape(w).get(2).copied().unwrap_or(0);
        let (ratio, mask) = self.pconv_mask(mask_a, mask_b, k, stride, pad)?;
        let raw = self.conv2d(xm, w, None, stride, pad)?;
        Ok((raw, ratio, mask))
    }

    /// Inference's layer tail after `partial_conv_raw` in one op: rescale
    /// and bias, BatchNorm with `bn` = (gamma, beta, running mean, running
    /// var), leaky ReLU of `slope`, times the new mask (Op::Nn(NnOp::PConvEpilogue)).
    pub fn pconv_epilogue(
        &mut self,
        (raw, ratio, mask): (TensorId, TensorId, TensorId),
        bias: Option<TensorId>,
        bn: Option<[TensorId; 4]>,
        slope: f32,
    ) -> Result<TensorId> {
        let mut ins = vec![raw, ratio, mask];
        ins.extend(bias);
        ins.extend(bn.into_iter().flatten());
        let op = Op::Nn(NnOp::PConvEpilogue {
            bias: bias.is_some(),
            bn: bn.is_some(),
            eps: BN_EPS,
            slope,
        });
        self.push1(op, &ins)
    }

    /// BatchNorm with batch statistics (`train`) or running statistics.
    /// `running` = (mean, var) state tensors, updated in place in training.
    pub fn batch_norm(
        &mut self,
        x: TensorId,
        gamma: TensorId,
        beta: TensorId,
        running: (TensorId, TensorId),
        train: bool,
    ) -> Result<TensorId> {
        let op = Op::Nn(NnOp::BatchNorm {
            train,
            eps: BN_EPS,
            momentum: 0.1,
        });
        self.push1(op, &[x, gamma, beta, running.0, running.1])
    }

    /// Sets the momentum of every training-mode BatchNorm already in the
    /// graph: with 1 its running statistics after a run are that batch's.
    pub fn set_batch_norm_momentum(&mut self, value: f32) {
        for node in &mut self.nodes {
            if let Op::Nn(NnOp::BatchNorm {
                train: true,
                momentum,
                ..
            }) = &mut node.op
            {
                *momentum = value;
            }
        }
    }

    pub fn relu(&mut self, x: TensorId) -> Result<TensorId> {
        self.push1(Op::Nn(NnOp::Activation { slope: 0.0 }), &[x])
    }

    pub fn leaky_relu(&mut self, x: TensorId, slope: f32) -> Result<TensorId> {
        self.push1(Op::Nn(NnOp::Activation { slope }), &[x])
    }

    pub fn upsample2x(&mut self, x: TensorId) -> Result<TensorId> {
        self.push1(Op::Nn(NnOp::Upsample2x), &[x])
    }

    pub fn concat(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        self.push1(Op::Nn(NnOp::Concat), &[a, b])
    }

    pub fn max_pool2(&mut self, x: TensorId) -> Result<TensorId> {
        self.push1(Op::Nn(NnOp::MaxPool2), &[x])
    }

    /// alpha * a + beta * b (b optional).
    pub fn axpby(
        &mut self,
        alpha: f32,
        a: TensorId,
        beta: f32,
        b: Option<TensorId>,
    ) -> Result<TensorId> {
        let mut ins = vec![a];
        ins.extend(b);
        self.push1(Op::Nn(NnOp::Axpby { alpha, beta }), &ins)
    }

    pub fn channel_affine(
        &mut self,
        x: TensorId,
        scale: [f32; 3],
        shift: [f32; 3],
    ) -> Result<TensorId> {
        self.push1(Op::Nn(NnOp::ChannelAffine { scale, shift }), &[x])
    }

    pub fn composite(&mut self, out: TensorId, gt: TensorId, mask: TensorId) -> Result<TensorId> {
        self.push1(Op::Loss(LossOp::Composite), &[out, gt, mask])
    }

    /// mean |w ⊙ (a − b)| over all elements of a; gradient flows to `a` only.
    pub fn l1_mean(
        &mut self,
        a: TensorId,
        b: TensorId,
        weight: L1Weight,
        mask: Option<TensorId>,
    ) -> Result<TensorId> {
        let mut ins = vec![a, b];
        if weight != L1Weight::None {
            ins.push(
                mask.ok_or_else(|| Error::Invalid("l1_mean: a weighted L1 needs the mask".into()))?,
            );
        }
        self.push1(Op::Loss(LossOp::L1Mean { weight }), &ins)
    }

    pub fn dilate_holes(&mut self, mask: TensorId) -> Result<TensorId> {
        self.push1(Op::Loss(LossOp::DilateHoles), &[mask])
    }

    /// Total variation of `comp` over `region` (see `dilate_holes`), / numel.
    pub fn tv(&mut self, comp: TensorId, region: TensorId) -> Result<TensorId> {
        self.push1(Op::Loss(LossOp::Tv), &[comp, region])
    }

    pub fn gram(&mut self, f: TensorId) -> Result<TensorId> {
        self.push1(Op::Loss(LossOp::Gram), &[f])
    }

    /// One Adam step on `param` (moments `m`, `v` are state tensors; `step`
    /// is the host-written [lr, 1 - b1^t, 1 - b2^t, 0]).
    pub fn adam(
        &mut self,
        step: TensorId,
        grad: TensorId,
        param: TensorId,
        m: TensorId,
        v: TensorId,
    ) -> Result<()> {
        self.push(
            crate::ops::optim::adam_op(false),
            &[step, grad, param, m, v],
        )?;
        Ok(())
    }

    /// `adam` on a gradient that carries the dynamic loss scale of
    /// `scaler` (divided out; no update where the scaler marks an overflow).
    pub fn adam_loss_scaled(
        &mut self,
        step: TensorId,
        (grad, param, m, v): (TensorId, TensorId, TensorId, TensorId),
        scaler: TensorId,
    ) -> Result<()> {
        self.push(
            crate::ops::optim::adam_op(true),
            &[step, grad, param, m, v, scaler],
        )?;
        Ok(())
    }

    /// `avg = decay * avg + (1 - decay) * x`, in place (`avg` a state
    /// tensor): the moving average of a tensor after its update.
    pub fn ema(&mut self, x: TensorId, avg: TensorId, decay: f32) -> Result<()> {
        self.push(Op::Optim(OptimOp::Ema { decay }), &[x, avg])?;
        Ok(())
    }

    /// `acc = grad` where `first[0]` != 0, else `acc + grad`, in place
    /// (`acc` a state tensor): gradients summed over micro-batches.
    pub fn accumulate(&mut self, first: TensorId, grad: TensorId, acc: TensorId) -> Result<()> {
        self.push(
            Op::Optim(OptimOp::Accumulate { loss_scaled: false }),
            &[first, grad, acc],
        )?;
        Ok(())
    }

    /// `accumulate`, marking an overflow in `scaler` where `grad` has a
    /// non-finite value (mixed-precision training).
    pub fn accumulate_checked(
        &mut self,
        first: TensorId,
        grad: TensorId,
        acc: TensorId,
        scaler: TensorId,
    ) -> Result<()> {
        self.push(
            Op::Optim(OptimOp::Accumulate { loss_scaled: true }),
            &[first, grad, acc, scaler],
        )?;
        Ok(())
    }

    /// The dynamic loss scale's update after a step (`OptimOp::LossScale`):
    /// `scaler` and the backward's `seed`, in place.
    pub fn loss_scale(
        &mut self,
        scaler: TensorId,
        seed: TensorId,
        growth_interval: u32,
    ) -> Result<()> {
        self.push(
            Op::Optim(OptimOp::LossScale { growth_interval }),
            &[scaler, seed],
        )?;
        Ok(())
    }
}
