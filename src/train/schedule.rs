//! The learning rate over a run: constant, a step down for the last third,
//! or a cosine down to a hundredth. A function of the step and the run's
//! last step only, so a resumed run continues the same curve.
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LrSchedule {
    #[default]
    Constant,
    /// The rate, then a tenth of it after two thirds of the steps.
    Step,
    /// Half a cosine from the rate at step 1 to a hundredth of it at the
    /// last step.
    Cosine,
}

impl LrSchedule {
    pub fn name(self) -> &'static str {
        match self {
            LrSchedule::Constant => "constant",
            LrSchedule::Step => "step",
            LrSchedule::Cosine => "cosine",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "constant" => Ok(LrSchedule::Constant),
            "step" => Ok(LrSchedule::Step),
            "cosine" => Ok(LrSchedule::Cosine),
            _ => Err(Error::Invalid(format!(
                "learning-rate schedule {s:?}: use constant, step or cosine"
            ))),
        }
    }

    /// The rate of step `step` (1-based) of a run ending at `last`.
    pub fn lr(self, base: f64, step: u64, last: u64) -> f64 {
        match self {
            LrSchedule::Constant => base,
            LrSchedule::Step if step * 3 > last * 2 => base * 0.1,
            LrSchedule::Step => base,
            LrSchedule::Cosine => {
                let t = step.saturating_sub(1) as f64 / last.saturating_sub(1).max(1) as f64;
                let t = t.min(1.0);
                base * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
            }
        }
    }
}
