//! Training: the training step graph (forward, loss, backward, Adam) and
//! the loop that runs it on a folder of images.
pub mod metrics_log;
pub mod parallel;
pub mod recalibrate;
pub mod run_config;
pub mod run_dir;
pub mod samples;
pub mod schedule;
pub mod session;
mod step;
pub mod trainer;

pub use metrics_log::StepMetrics;
pub use schedule::LrSchedule;
pub use step::{TrainStep, TrainStepConfig};
pub use trainer::{
    train, train_ranks, Control, Length, Observer, Outcome, RunInfo, Start, TrainOptions,
};
