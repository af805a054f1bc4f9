//! A training step compiled on a device, and what every user of one does
//! the same way: the trainer, "fit this image" and the step benchmark build
//! it, upload weights, and submit steps whose loss terms come back
//! asynchronously.
use super::step::{TrainStep, TrainStepConfig};
use crate::error::{Error, Result};
use crate::gpu::{Executor, GpuContext, PendingScalars};
use crate::graph::TensorId;
use crate::loss::VggWeights;
use crate::ops::optim::adam_step_scalars;

pub struct TrainSession {
    pub step: TrainStep,
    pub exec: Executor,
    /// The loss terms' tensors, in `TERM_NAMES` order: read back per step.
    losses: Vec<TensorId>,
}

impl TrainSession {
    /// Builds the step of `cfg` and compiles it on `ctx`; the loss terms,
    /// and the network's output when `keep_output`, stay readable. In
    /// mixed precision `cfg` must scale the loss: the loss gradients (about
    /// 1e-7 per pixel) would underflow f16 otherwise.
    pub fn compile(ctx: &GpuContext, cfg: &TrainStepConfig, keep_output: bool) -> Result<Self> {
        if ctx.precision() == crate::gpu::Precision::Mixed && !cfg.loss_scaling {
            return Err(Error::Invalid(
                "a mixed-precision training step needs loss scaling".into(),
            ));
        }
        let step = TrainStep::build(cfg)?;
        let losses = step.losses.to_array().to_vec();
        let mut keep = losses.clone();
        if keep_output {
            keep.push(step.output);
        }
        let exec = Executor::new(ctx, &step.graph, &keep)?;
        let session = TrainSession { step, exec, losses };
        session.set_loss_scaler(crate::ops::optim::loss_scaler(
            crate::ops::optim::LOSS_SCALE_INIT,
            0.0,
            0.0,
        ))?;
        Ok(session)
    }

    /// Sets the dynamic loss scale's state (a fresh one, or a resumed
    /// run's); nothing without loss scaling.
    pub fn set_loss_scaler(&self, scaler: [f32; 4]) -> Result<()> {
        if let Some((s, seed)) = self.step.loss_scaler {
            self.exec.write(s, &scaler)?;
            self.exec.write(seed, &scaler[..1])?;
        }
        Ok(())
    }

    /// The dynamic loss scale's state (blocking), None without loss
    /// scaling.
    pub fn loss_scaler(&self) -> Result<Option<[f32; 4]>> {
        match self.step.loss_scaler {
            Some((s, _)) => {
                let v = self.exec.read(s)?;
                Ok(Some([v[0], v[1], v[2], v[3]]))
            }
            None => Ok(None),
        }
    }

    /// The loss network's VGG-16 weights.
    pub fn upload_vgg(&self, weights: &VggWeights) -> Result<()> {
        for (t, v) in weights.values_for(&self.step.vgg) {
            self.exec.write(t, v)?;
        }
        Ok(())
    }

    /// Fresh network weights from `seed` (the moving averages, if any,
    /// start equal to them).
    pub fn upload_initial_weights(&self, seed: u64) -> Result<()> {
        for (t, v) in self.step.net.initial_values(&self.step.graph, seed) {
            self.exec.write(t, &v)?;
            if let Some(&(_, avg)) = self.step.averages.iter().find(|(p, _)| *p == t) {
                self.exec.write(avg, &v)?;
            }
        }
        Ok(())
    }

    /// Writes a batch: images [N, 3, H, W] and known-pixel masks [N, 1, H, W].
    pub fn write_batch(&self, images: &[f32], masks: &[f32]) -> Result<()> {
        self.exec.write(self.step.image, images)?;
        self.exec.write(self.step.mask, masks)
    }

    /// Submits Adam step `t` (from 1) at learning rate `lr` on the batch
    /// written last; its loss terms come back without blocking, followed,
    /// with loss scaling, by the scaler after the step.
    pub fn submit(&self, lr: f64, t: u64) -> Result<PendingScalars> {
        if self.step.accumulate {
            return Err(Error::Invalid(
                "an accumulating step is submitted in parts".into(),
            ));
        }
        if let Some(flag) = self.step.first_micro_batch {
            self.exec.write(flag, &[1.0])?;
        }
        self.exec
            .write(self.step.adam_step, &adam_step_scalars(lr, t, 1.0))?;
        let mut scalars = self.losses.clone();
        scalars.extend(self.step.loss_scaler.map(|(s, _)| s));
        Ok(self.exec.run_with_scalars(&scalars))
    }

    /// The first node of the update of an accumulating step.
    fn update_start(&self) -> Result<usize> {
        self.step
            .update_start
            .ok_or_else(|| Error::Invalid("the step does not accumulate gradients".into()))
    }

    /// Accumulating step: the gradients of the batch written last, into
    /// the accumulators (replacing them on a step's `first` micro-batch,
    /// else added); its loss terms come back without blocking.
    pub fn submit_gradients(&self, first: bool) -> Result<PendingScalars> {
        let end = self.update_start()?;
        if let Some(flag) = self.step.first_micro_batch {
            self.exec.write(flag, &[if first { 1.0 } else { 0.0 }])?;
        }
        Ok(self.exec.run_nodes_with_scalars(0..end, &self.losses))
    }

    /// Accumulating step: Adam step `t` at `lr` on the accumulated
    /// gradients scaled by `grad_scale`, then the moving average.
    pub fn submit_update(&self, lr: f64, t: u64, grad_scale: f32) -> Result<()> {
        let start = self.update_start()?;
        self.exec
            .write(self.step.adam_step, &adam_step_scalars(lr, t, grad_scale))?;
        self.exec.run_nodes_with_scalars(start..usize::MAX, &[]);
        Ok(())
    }

    /// The accumulated gradients, every parameter's in turn.
    pub fn read_gradients(&self) -> Result<Vec<f32>> {
        self.read_all(self.step.trained.iter().map(|&(_, g, _, _)| g))
    }

    /// Replaces the accumulated gradients (as `read_gradients` lists them).
    pub fn write_gradients(&self, values: &[f32]) -> Result<()> {
        self.write_all(self.step.trained.iter().map(|&(_, g, _, _)| g), values)
    }

    /// The BatchNorm running statistics, every tensor's in turn.
    pub fn read_running_stats(&self) -> Result<Vec<f32>> {
        self.read_all(self.step.running_stats.iter().copied())
    }

    /// Replaces the running statistics (as `read_running_stats` lists them).
    pub fn write_running_stats(&self, values: &[f32]) -> Result<()> {
        self.write_all(self.step.running_stats.iter().copied(), values)
    }

    /// Every trained parameter, its Adam moments, the running statistics
    /// and the averages: what makes two processes' models the same.
    pub fn model_state(&self) -> Vec<TensorId> {
        let step = &self.step;
        let mut all: Vec<TensorId> = step
            .trained
            .iter()
            .flat_map(|&(p, _, m, v)| [p, m, v])
            .collect();
        all.extend(&step.running_stats);
        all.extend(step.averages.iter().map(|&(_, avg)| avg));
        all
    }

    /// The values of `tensors`, concatenated (one wait for all).
    pub fn read_all(&self, tensors: impl Iterator<Item = TensorId>) -> Result<Vec<f32>> {
        self.exec.read_all(&tensors.collect::<Vec<_>>())
    }

    /// Writes `values` (as `read_all` concatenates them) into `tensors`.
    pub fn write_all(&self, tensors: impl Iterator<Item = TensorId>, values: &[f32]) -> Result<()> {
        let mut at = 0;
        for t in tensors {
            let len = self.step.graph.info(t).numel();
            let part = values
                .get(at..at + len)
                .ok_or_else(|| Error::Invalid("too few values for the tensors".into()))?;
            self.exec.write(t, part)?;
            at += len;
        }
        if at != values.len() {
            return Err(Error::Invalid("more values than the tensors hold".into()));
        }
        Ok(())
    }
}
