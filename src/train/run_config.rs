//! A run's settings: resolved from the command line, the checkpoint a run
//! starts from or resumes (whose `train.*` metadata says how the run that
//! wrote it was set up, so `--resume` alone continues the same run) and the
//! defaults; checked before anything is written.
use std::collections::BTreeMap;

use super::schedule::LrSchedule;
use super::trainer::{
    TrainOptions, DEFAULT_BATCH, DEFAULT_SIZE, DEFAULT_STEPS, LR_FINETUNE, LR_TRAIN, MAX_BATCH,
    MAX_SIZE,
};
use crate::data::images::Crop;
use crate::error::{Error, Result};
use crate::model::{Checkpoint, UNetConfig};

/// What a checkpoint records of the run that wrote it (metadata keys
/// `train.*`; absent keys are None, or false for the flags).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMetadata {
    pub seed: Option<u64>,
    pub lr: Option<f64>,
    pub lr_schedule: Option<LrSchedule>,
    /// The run's last step.
    pub steps: Option<u64>,
    /// The decay of the weights' moving average.
    pub ema: Option<f64>,
    pub finetune: bool,
    pub batch: Option<usize>,
    /// The micro-batches each batch was split into: `--accum` × ranks.
    pub micro_batches: Option<usize>,
    pub size: Option<usize>,
    /// How crops were taken: `train.crop_scale` (MIN:MAX) or the flag
    /// `train.resize`; None: neither key (a run from before either).
    pub crop: Option<Crop>,
    /// Mixed-precision training's dynamic loss scale after the step, and
    /// the clean steps since it last changed (a resumed run continues both).
    pub loss_scale: Option<f32>,
    pub loss_scale_clean_steps: Option<u32>,
}

impl RunMetadata {
    /// Reads the `train.*` keys; a key present with an unreadable value is
    /// an error that names it.
    pub fn read(extra: &BTreeMap<String, String>) -> Result<Self> {
        fn parsed<T: std::str::FromStr>(
            extra: &BTreeMap<String, String>,
            key: &str,
        ) -> Result<Option<T>> {
            extra
                .get(key)
                .map(|v| {
                    v.parse().map_err(|_| {
                        Error::Invalid(format!(
                            "the checkpoint's metadata '{key}' is {v:?}, not a valid value"
                        ))
                    })
                })
                .transpose()
        }
        Ok(RunMetadata {
            seed: parsed(extra, "train.seed")?,
            lr: parsed(extra, "train.lr")?,
            lr_schedule: extra
                .get("train.lr_schedule")
                .map(|s| LrSchedule::parse(s))
                .transpose()?,
            steps: parsed(extra, "train.steps")?,
            ema: parsed(extra, "train.ema")?,
            finetune: parsed(extra, "train.finetune")?.unwrap_or(false),
            batch: parsed(extra, "train.batch")?,
            micro_batches: parsed(extra, "train.micro_batches")?,
            size: parsed(extra, "train.size")?,
            crop: match (
                extra.get("train.crop_scale"),
                parsed::<bool>(extra, "train.resize")?,
            ) {
                (Some(s), _) => Some(Crop::parse_scale(s).map_err(|e| {
                    Error::Invalid(format!("the checkpoint's metadata 'train.crop_scale': {e}"))
                })?),
                (None, Some(true)) => Some(Crop::Resize),
                (None, Some(false)) => Some(Crop::Full),
                (None, None) => None,
            },
            loss_scale: parsed::<f32>(extra, "train.loss_scale")?
                .map(|s| {
                    if s.is_finite() && (1.0..=16_777_216.0).contains(&s) {
                        Ok(s)
                    } else {
                        Err(Error::Invalid(format!(
                            "the checkpoint's metadata 'train.loss_scale' is {s}, outside 1 to 2^24"
                        )))
                    }
                })
                .transpose()?,
            loss_scale_clean_steps: parsed(extra, "train.loss_scale_clean_steps")?,
        })
    }

    /// Writes the keys of the values present (and both flags).
    pub fn write(&self, extra: &mut BTreeMap<String, String>) {
        let mut put = |key: &str, value: Option<String>| {
            if let Some(v) = value {
                extra.insert(key.into(), v);
            }
        };
        put("train.seed", self.seed.map(|v| v.to_string()));
        put("train.lr", self.lr.map(|v| format!("{v:e}")));
        put(
            "train.lr_schedule",
            self.lr_schedule.map(|s| s.name().into()),
        );
        put("train.steps", self.steps.map(|v| v.to_string()));
        put("train.ema", self.ema.map(|v| v.to_string()));
        put("train.finetune", Some(self.finetune.to_string()));
        put("train.batch", self.batch.map(|v| v.to_string()));
        put(
            "train.micro_batches",
            self.micro_batches.map(|v| v.to_string()),
        );
        put("train.size", self.size.map(|v| v.to_string()));
        put(
            "train.resize",
            self.crop.map(|c| (c == Crop::Resize).to_string()),
        );
        put("train.crop_scale", self.crop.and_then(|c| c.scale_text()));
        put("train.loss_scale", self.loss_scale.map(|v| v.to_string()));
        put(
            "train.loss_scale_clean_steps",
            self.loss_scale_clean_steps.map(|v| v.to_string()),
        );
    }
}

/// The settings a run trains with.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    pub net: UNetConfig,
    pub finetune: bool,
    pub crop: Crop,
    pub seed: u64,
    pub lr: f64,
    pub lr_schedule: LrSchedule,
    pub size: usize,
    pub batch: usize,
    /// Micro-batches per step on each of the ranks (`--accum`).
    pub accum: usize,
    pub ema: Option<f64>,
    /// The resumed run's last step (its length unless told otherwise).
    pub run_steps: Option<u64>,
    /// Steps done before this run's first.
    pub first_step: u64,
}

impl RunSettings {
    /// The options first, then (when resuming) the checkpoint's run, then
    /// the defaults; every value checked, with the flag in the message.
    /// `ranks`: the processes of a data-parallel job (1: one).
    pub fn resolve(
        opts: &TrainOptions,
        loaded: Option<&Checkpoint>,
        resume: bool,
        ranks: usize,
    ) -> Result<RunSettings> {
        if let Some(ck) = loaded {
            for (what, given, has) in [
                (
                    "--levels",
                    opts.levels.map(|l| l as f64),
                    ck.config.levels as f64,
                ),
                ("--width", opts.width, ck.config.width),
            ] {
                if given.is_some_and(|g| g != has) {
                    return Err(Error::Invalid(format!(
                        "{what} {} differs from the checkpoint's {has}",
                        given.unwrap_or_default()
                    )));
                }
            }
            if resume && ck.adam.is_none() {
                return Err(Error::Invalid(
                    "the checkpoint has no optimiser state to resume; use --init to start from its weights".into(),
                ));
            }
        }
        let net = match loaded {
            Some(ck) => ck.config,
            None => UNetConfig {
                levels: opts.levels.unwrap_or(7),
                width: opts.width.unwrap_or(1.0),
            },
        };
        let run = match loaded.filter(|_| resume) {
            Some(ck) => RunMetadata::read(&ck.extra)?,
            None => RunMetadata::default(),
        };
        let finetune = opts.finetune || run.finetune;
        let lr_default = if finetune { LR_FINETUNE } else { LR_TRAIN };
        let batch = opts.batch.or(run.batch).unwrap_or(DEFAULT_BATCH);
        let s = RunSettings {
            net,
            finetune,
            crop: opts.crop.or(run.crop).unwrap_or(Crop::Full),
            seed: opts.seed.or(run.seed).unwrap_or(0),
            lr: opts.lr.or(run.lr).unwrap_or(lr_default),
            lr_schedule: opts
                .lr_schedule
                .or(run.lr_schedule)
                .unwrap_or(LrSchedule::Constant),
            // A resumed run keeps its crop size and batch unless told
            // otherwise, so `--resume` alone continues the same run.
            size: opts.size.or(run.size).unwrap_or(DEFAULT_SIZE),
            batch,
            // A resumed run keeps its split of each batch (BatchNorm sees
            // the same micro-batches), however many ranks continue it.
            accum: match (opts.accum, run.micro_batches) {
                (Some(a), _) => a,
                (None, Some(parts)) if run.batch == Some(batch) => {
                    if !parts.is_multiple_of(ranks.max(1)) {
                        return Err(Error::Invalid(format!(
                            "the resumed run split each batch into {parts} micro-batches, \
                             which {ranks} ranks cannot share; give --accum"
                        )));
                    }
                    (parts / ranks.max(1)).max(1)
                }
                _ => 1,
            },
            ema: opts.ema.or(run.ema),
            run_steps: run.steps,
            first_step: if resume {
                loaded.map_or(0, |ck| ck.step)
            } else {
                0
            },
        };
        s.check(opts)?;
        Ok(s)
    }

    fn check(&self, opts: &TrainOptions) -> Result<()> {
        let (net, size, batch, lr) = (self.net, self.size, self.batch, self.lr);
        if self.ema.is_some_and(|d| !(d > 0.0 && d < 1.0)) {
            return Err(Error::Invalid(format!(
                "--ema {}: the decay must be above 0 and below 1 (e.g. 0.999)",
                self.ema.unwrap_or_default()
            )));
        }
        net.check()?;
        if size > MAX_SIZE {
            return Err(Error::Invalid(format!(
                "--size {size} is larger than {MAX_SIZE}"
            )));
        }
        if batch > MAX_BATCH {
            return Err(Error::Invalid(format!(
                "--batch {batch} is larger than {MAX_BATCH}"
            )));
        }
        if size == 0 || !size.is_multiple_of(net.multiple()) {
            return Err(Error::Invalid(format!(
                "--size {} must be a positive multiple of {} for {} levels",
                size,
                net.multiple(),
                net.levels
            )));
        }
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::Invalid(format!(
                "--lr {lr} must be a positive number"
            )));
        }
        if batch == 0 {
            return Err(Error::Invalid("--batch must be at least 1".into()));
        }
        if opts.checkpoint_every == 0 || opts.sample_every == 0 {
            return Err(Error::Invalid(
                "--checkpoint-every and --sample-every must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The last step: `--steps`, or `--epochs` over `images`, or the
    /// resumed run's, or the default.
    pub fn last_step(&self, length: Option<super::trainer::Length>, images: usize) -> u64 {
        use super::trainer::Length;
        match length {
            Some(Length::Steps(n)) => n,
            Some(Length::Epochs(e)) => e
                .checked_mul(images as u64)
                .map_or(u64::MAX, |n| n.div_ceil(self.batch as u64)),
            None => self.run_steps.unwrap_or(DEFAULT_STEPS),
        }
    }
}
