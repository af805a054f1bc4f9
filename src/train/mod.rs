//! Training: the training step graph (forward, loss, backward, Adam).
mod step;

pub use step::{TrainStep, TrainStepConfig};
