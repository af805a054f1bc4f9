//! Training: the training step graph (forward, loss, backward, Adam) and
//! the loop that runs it on a folder of images.
pub mod metrics;
pub mod run_dir;
pub mod samples;
pub mod schedule;
mod step;
pub mod trainer;

pub use metrics::StepMetrics;
pub use schedule::LrSchedule;
pub use step::{TrainStep, TrainStepConfig};
pub use trainer::{train, Control, Length, Observer, Outcome, RunInfo, Start, TrainOptions};
