use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::gpu::Executor;
use crate::graph::autodiff::backward_from;
use crate::graph::{Graph, TensorId};
use crate::io::safetensors::Tensor as SafeTensor;
use crate::loss::{inpainting_loss, LossTerms, Preprocess, Vgg, VggConfig};
use crate::model::checkpoint::{AdamState, Checkpoint};
use crate::model::{Mode, UNet, UNetConfig};
use crate::ops::Op;

/// Shapes and modes of one training step.
#[derive(Clone, Copy, Debug)]
pub struct TrainStepConfig {
    pub net: UNetConfig,
    pub vgg: VggConfig,
    pub preprocess: Preprocess,
    pub batch: usize,
    pub height: usize,
    pub width: usize,
    pub mode: Mode,
    /// Fitting one image whose own holes are unknown ("fit this image"): an
    /// extra input `unknown` ([batch, 1, h, w], 1 where the ground truth is
    /// not known), where the loss sees the ground truth in place of the
    /// output, so those pixels teach nothing.
    pub ignore_unknown: bool,
    /// The decay of a moving average of every network tensor, updated
    /// after each step (`--ema`); None: no average.
    pub ema: Option<f32>,
    /// Gradients are summed into accumulators and the update (Adam, the
    /// average) runs as its own part of the step, after the host has run
    /// the gradient part on every micro-batch and combined the
    /// accumulators of every rank (`--accum`, data parallelism). Else Adam
    /// updates each parameter as soon as its gradient is complete.
    pub accumulate: bool,
    /// Mixed-precision training: the backward starts from the dynamic
    /// loss scale instead of 1 (so small gradients survive f16), gradients
    /// go through accumulators that mark non-finite values, and the update
    /// (Adam unscaling them, or skipping an overflowed step) runs after the
    /// whole backward, then the scale's own update. All on the GPU: no
    /// read-back decides anything.
    pub loss_scaling: bool,
}

/// The whole training step as one graph: forward, the six loss terms,
/// backward and one Adam update of every trainable parameter.
pub struct TrainStep {
    pub graph: Graph,
    pub net: UNet,
    pub vgg: Vgg,
    pub image: TensorId,
    pub mask: TensorId,
    /// With `ignore_unknown`: 1 where the ground truth is unknown.
    pub unknown: Option<TensorId>,
    /// [lr, 1 − β1^t, 1 − β2^t, gradient scale], written before each step.
    pub adam_step: TensorId,
    /// With `accumulate` or `loss_scaling`: [1] on a step's first
    /// micro-batch, else [0].
    pub first_micro_batch: Option<TensorId>,
    /// With `accumulate` or `loss_scaling`: the first node of the update;
    /// the nodes before it compute one micro-batch's gradients into the
    /// accumulators.
    pub update_start: Option<usize>,
    /// With `accumulate`: the host runs the two parts separately.
    pub accumulate: bool,
    /// With `loss_scaling`: the scaler ([loss scale, overflowed, clean
    /// steps, skipped steps]) and the backward's seed ([loss scale]).
    pub loss_scaler: Option<(TensorId, TensorId)>,
    pub output: TensorId,
    pub losses: LossTerms<TensorId>,
    /// (parameter, its gradient, Adam m, Adam v) for every trainable
    /// parameter; with `accumulate` the gradient is its accumulator.
    pub trained: Vec<(TensorId, TensorId, TensorId, TensorId)>,
    /// The network's tensors the forward pass updates in place (BatchNorm
    /// running statistics in training mode).
    pub running_stats: Vec<TensorId>,
    /// (network tensor, its moving average) for every tensor of the
    /// network, with `ema`.
    pub averages: Vec<(TensorId, TensorId)>,
    /// Index of the first node of the loss and of the backward pass (the
    /// forward pass is everything before; Adam nodes sit inside the
    /// backward pass, each as soon as its gradient is complete).
    pub phase_starts: [usize; 2],
}

impl TrainStep {
    pub fn build(cfg: &TrainStepConfig) -> Result<Self> {
        let mut g = Graph::new();
        let image = g.input("image", &[cfg.batch, 3, cfg.height, cfg.width]);
        let mask = g.input("mask", &[cfg.batch, 1, cfg.height, cfg.width]);
        let adam_step = g.input("adam_step", &[4]);
        let net = UNet::declare(&mut g, cfg.net, cfg.mode)?;
        let vgg = Vgg::declare(&mut g, cfg.vgg, cfg.preprocess);
        let output = net.forward(&mut g, image, mask, cfg.mode)?;
        let loss_start = g.nodes.len();
        let unknown = cfg
            .ignore_unknown
            .then(|| g.input("unknown", &[cfg.batch, 1, cfg.height, cfg.width]));
        // composite(a, b, m) = m ⊙ b + (1 − m) ⊙ a: the output where the
        // truth is known, the truth (no gradient) where it is not.
        let seen = match unknown {
            Some(u) => g.composite(output, image, u)?,
            None => output,
        };
        let losses = inpainting_loss(&mut g, &vgg, seen, image, mask)?;
        let backward_start = g.nodes.len();
        // Adam updates each parameter as soon as its gradient is complete, so
        // gradients do not all stay alive until the end of the backward pass.
        let trainable: Vec<(String, TensorId)> = net
            .named_tensors()
            .into_iter()
            .filter(|&(_, t)| g.info(t).requires_grad)
            .collect();
        let split = cfg.accumulate || cfg.loss_scaling;
        let seed = if cfg.loss_scaling {
            g.state("loss_seed", &[1])
        } else {
            g.constant("loss_seed", &[1], vec![1.0])
        };
        let scaler = cfg.loss_scaling.then(|| g.state("loss_scaler", &[4]));
        let first_micro_batch = split.then(|| g.input("first_micro_batch", &[1]));
        let mut trained = Vec::new();
        backward_from(&mut g, &[(losses.total, seed)], &mut |g, t, grad| {
            if let Some((name, _)) = trainable.iter().find(|(_, p)| *p == t) {
                let shape = g.shape(t).to_vec();
                let m = g.state(&format!("adam.m.{name}"), &shape);
                let v = g.state(&format!("adam.v.{name}"), &shape);
                match first_micro_batch {
                    Some(first) => {
                        let acc = g.state(&format!("grad.{name}"), &shape);
                        match scaler {
                            Some(s) => g.accumulate_checked(first, grad, acc, s)?,
                            None => g.accumulate(first, grad, acc)?,
                        }
                        trained.push((t, acc, m, v));
                    }
                    None => {
                        g.adam(adam_step, grad, t, m, v)?;
                        trained.push((t, grad, m, v));
                    }
                }
            }
            Ok(())
        })?;
        if trained.len() != trainable.len() {
            return Err(Error::Invalid(format!(
                "{} of {} trainable tensors got no gradient",
                trainable.len() - trained.len(),
                trainable.len()
            )));
        }
        let update_start = split.then_some(g.nodes.len());
        if split {
            for &(p, acc, m, v) in &trained {
                match scaler {
                    Some(s) => g.adam_loss_scaled(adam_step, (acc, p, m, v), s)?,
                    None => g.adam(adam_step, acc, p, m, v)?,
                }
            }
        }
        if let Some(s) = scaler {
            g.loss_scale(s, seed, crate::ops::optim::LOSS_SCALE_GROWTH_INTERVAL)?;
        }
        // The averages follow the finished step: after every Adam update
        // and the BatchNorm running statistics of the forward pass.
        let running_stats = net
            .named_tensors()
            .into_iter()
            .map(|(_, t)| t)
            .filter(|&t| {
                g.nodes.iter().any(|n| {
                    n.op.written_inputs()
                        .iter()
                        .any(|&i| n.inputs[i] == t && !matches!(n.op, Op::Optim(_)))
                })
            })
            .collect();
        let mut averages = Vec::new();
        if let Some(decay) = cfg.ema {
            for (name, t) in net.named_tensors() {
                let shape = g.shape(t).to_vec();
                let avg = g.state(&format!("ema.{name}"), &shape);
                g.ema(t, avg, decay)?;
                averages.push((t, avg));
            }
        }
        Ok(TrainStep {
            graph: g,
            net,
            vgg,
            image,
            mask,
            unknown,
            adam_step,
            first_micro_batch,
            update_start,
            accumulate: cfg.accumulate,
            loss_scaler: scaler.map(|s| (s, seed)),
            output,
            losses,
            trained,
            running_stats,
            averages,
            phase_starts: [loss_start, backward_start],
        })
    }
}

impl TrainStep {
    /// Uploads a checkpoint's weights (and Adam moments when present) into
    /// an executor of this step; the network configurations must match.
    /// The moving average starts from the checkpoint's, else from its
    /// weights.
    pub fn upload_checkpoint(&self, exec: &Executor, ck: &Checkpoint) -> Result<()> {
        self.net.upload(exec, ck)?;
        for &(t, avg) in &self.averages {
            let name = &self.graph.info(t).name;
            let from = ck.ema.as_ref().unwrap_or(&ck.tensors);
            let value = from
                .get(name)
                .ok_or_else(|| Error::Invalid(format!("the checkpoint lacks {name}")))?;
            exec.write(avg, &value.data)?;
        }
        if let Some(adam) = &ck.adam {
            for &(p, _, m, v) in &self.trained {
                let name = &self.graph.info(p).name;
                if let Some((mv, vv)) = adam.moments.get(name) {
                    exec.write(m, &mv.data)?;
                    exec.write(v, &vv.data)?;
                }
            }
        }
        Ok(())
    }

    /// Reads the weights and Adam moments back into a checkpoint at `step`.
    pub fn download_checkpoint(&self, exec: &Executor, step: u64) -> Result<Checkpoint> {
        let mut tensors = BTreeMap::new();
        for (name, t) in self.net.named_tensors() {
            tensors.insert(
                name,
                SafeTensor {
                    shape: self.graph.shape(t).to_vec(),
                    data: exec.read(t)?,
                },
            );
        }
        let mut moments = BTreeMap::new();
        for &(p, _, m, v) in &self.trained {
            let shape = self.graph.shape(p).to_vec();
            let pair = (
                SafeTensor {
                    shape: shape.clone(),
                    data: exec.read(m)?,
                },
                SafeTensor {
                    shape,
                    data: exec.read(v)?,
                },
            );
            moments.insert(self.graph.info(p).name.clone(), pair);
        }
        let ema = if self.averages.is_empty() {
            None
        } else {
            let mut ema = BTreeMap::new();
            for &(t, avg) in &self.averages {
                let value = SafeTensor {
                    shape: self.graph.shape(t).to_vec(),
                    data: exec.read(avg)?,
                };
                ema.insert(self.graph.info(t).name.clone(), value);
            }
            Some(ema)
        };
        Ok(Checkpoint {
            config: self.net.config,
            step,
            tensors,
            adam: Some(AdamState { moments, step }),
            ema,
            extra: BTreeMap::new(),
        })
    }
}
