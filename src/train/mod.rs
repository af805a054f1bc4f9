//! Training: the training step graph (forward, loss, backward, Adam) and
//! the loop that runs it on a folder of images.
pub mod fit;
pub mod metrics;
pub mod run_dir;
pub mod samples;
mod step;
pub mod trainer;

pub use metrics::StepMetrics;
pub use step::{TrainStep, TrainStepConfig};
pub use trainer::{train, Control, Length, Observer, Outcome, RunInfo, Start, TrainOptions};
