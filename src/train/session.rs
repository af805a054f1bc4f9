//! A training step compiled on a device, and what every user of one does
//! the same way: the trainer, "fit this image" and the step benchmark build
//! it, upload weights, and submit steps whose loss terms come back
//! asynchronously.
use super::step::{TrainStep, TrainStepConfig};
use crate::error::Result;
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
    /// and the network's output when `keep_output`, stay readable.
    pub fn compile(ctx: &GpuContext, cfg: &TrainStepConfig, keep_output: bool) -> Result<Self> {
        let step = TrainStep::build(cfg)?;
        let losses = step.losses.to_array().to_vec();
        let mut keep = losses.clone();
        if keep_output {
            keep.push(step.output);
        }
        let exec = Executor::new(ctx, &step.graph, &keep)?;
        Ok(TrainSession { step, exec, losses })
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
    /// written last; its loss terms come back without blocking.
    pub fn submit(&self, lr: f64, t: u64) -> Result<PendingScalars> {
        self.exec
            .write(self.step.adam_step, &adam_step_scalars(lr, t))?;
        Ok(self.exec.run_with_scalars(&self.losses))
    }
}
