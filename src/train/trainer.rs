//! The training loop behind `pconv train`: data on background threads, one
//! submit per step, losses read back without blocking the GPU (one step
//! behind), metrics, sample grids and atomic checkpoints, exact resume.
//!
//! Every random choice is a function of (seed, step): the image order and
//! augmentation, the masks and the initial weights. A checkpoint therefore
//! only needs the seed (stored in its metadata) to resume exactly.
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::metrics_log::{MetricsLog, StepMetrics};
use super::parallel::{
    accumulated_step, broadcast_model, micro_batch, rank_share, Collective, SingleProcess,
};
use super::run_config::{RunMetadata, RunSettings};
use super::run_dir::{claim, RunDir, RunLock, RUN_ID_KEY};
use super::samples::sample_grid;
use super::schedule::LrSchedule;
use super::session::TrainSession;
use super::step::TrainStepConfig;
use crate::data::images::{
    source_files, without_listed, Batch, BatchSpec, Crop, DataSource, ImageLoader,
};
use crate::data::masks::MaskSource;
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::gpu::PendingScalars;
use crate::loss::{VggConfig, VggWeights};
use crate::model::{Checkpoint, Mode, UNetConfig};

pub const LR_TRAIN: f64 = 2e-4;
pub const LR_FINETUNE: f64 = 5e-5;
pub const DEFAULT_SIZE: usize = 256;
pub const DEFAULT_BATCH: usize = 12;
pub const DEFAULT_STEPS: u64 = 100_000;
/// Bounds on the run's numbers (far above any real run; they keep absurd
/// input from overflowing or exhausting memory before an error can say so).
pub const MAX_SIZE: usize = 8192;
pub const MAX_BATCH: usize = 4096;
pub use crate::model::checkpoint::MAX_STEP;

/// How long to train.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Length {
    Steps(u64),
    Epochs(u64),
}

/// Where the weights come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Start {
    /// Kaiming initialisation from the seed.
    Fresh,
    /// Weights (and BatchNorm statistics) of a checkpoint; new optimiser, step 0.
    Init(PathBuf),
    /// Everything: weights, Adam moments, step count, seed.
    Resume(PathBuf),
}

#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Image folders, each with its weight (times per epoch).
    pub data: Vec<DataSource>,
    pub masks: Option<PathBuf>,
    /// A text file of image file names (one per line) never to train on,
    /// e.g. a held-out evaluation set.
    pub exclude: Option<PathBuf>,
    /// Crop size [default: 256, or the resumed run's].
    pub size: Option<usize>,
    /// How crops are taken [default: at full resolution, or the resumed
    /// run's].
    pub crop: Option<Crop>,
    /// Batch size [default: 12, or the resumed run's].
    pub batch: Option<usize>,
    /// None: 7, or the checkpoint's.
    pub levels: Option<usize>,
    /// None: 1.0, or the checkpoint's.
    pub width: Option<f64>,
    /// Total steps of the run (a resumed run counts its earlier steps).
    /// None: the resumed run's, else 100,000.
    pub length: Option<Length>,
    /// None: 2e-4 (5e-5 with `finetune`), or the resumed run's.
    pub lr: Option<f64>,
    pub finetune: bool,
    pub start: Start,
    /// None: the bundled VGG-16 weights.
    pub vgg: Option<PathBuf>,
    pub out: PathBuf,
    pub checkpoint_every: u64,
    pub sample_every: u64,
    /// None: 0, or the resumed run's.
    pub seed: Option<u64>,
    /// Keep a moving average of the weights with this decay (0 < d < 1);
    /// None: the resumed run's, else no average.
    pub ema: Option<f64>,
    /// None: the resumed run's, else constant.
    pub lr_schedule: Option<LrSchedule>,
    /// Micro-batches per optimiser step on each process (gradient
    /// accumulation); `batch` stays the global batch. None: the resumed
    /// run's split, else 1 (none).
    pub accum: Option<usize>,
}

/// What the loop tells its user (a progress bar, the app's dashboard).
pub trait Observer {
    fn started(&mut self, _run: &RunInfo) {}
    fn step(&mut self, _metrics: &StepMetrics) {}
    fn sample(&mut self, _step: u64, _path: &Path, _grid: &image::RgbImage) {}
    fn checkpoint(&mut self, _step: u64, _path: &Path) {}
    fn warning(&mut self, _text: &str) {}
    /// Asked before every step: the dashboard's pause and "save now".
    fn control(&mut self) -> Control {
        Control::Continue
    }
}

/// What an observer asks of the loop before a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// Wait (asked again every 50 ms; the stop flag still ends the run).
    Pause,
    /// Write a checkpoint now, then continue.
    SaveNow,
}

/// The run as resolved from the options and any checkpoint.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub net: UNetConfig,
    pub mode: Mode,
    pub lr: f64,
    pub lr_schedule: LrSchedule,
    /// The decay of the weights' moving average, if kept.
    pub ema: Option<f64>,
    pub seed: u64,
    pub first_step: u64,
    pub last_step: u64,
    pub images: usize,
    pub batch: usize,
    /// Micro-batches per step on each rank, and the ranks.
    pub accum: usize,
    pub ranks: usize,
    pub size: usize,
    pub dispatches: usize,
    pub planned_bytes: u64,
    pub out: PathBuf,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// All steps done; the final checkpoint.
    Finished { step: u64, checkpoint: PathBuf },
    /// Stopped on request (Ctrl-C) after `step`, saved to `checkpoint`.
    Interrupted { step: u64, checkpoint: PathBuf },
}

/// A run being trained: the compiled step on the GPU plus its data.
struct Run<'a> {
    ctx: &'a GpuContext,
    session: TrainSession,
    /// The ranks of a data-parallel job (one process: `SingleProcess`).
    /// Rank 0 alone writes the run folder.
    collective: &'a dyn Collective,
    info: RunInfo,
    dir: RunDir,
    /// Adam's step count before this run's first step.
    adam_t0: u64,
    finetune: bool,
    crop: Crop,
    /// The last step whose weights were saved, and where.
    last_saved: Option<(u64, PathBuf)>,
    run_id: String,
    /// Held while training (by rank 0): no second process writes into the
    /// folder.
    _lock: Option<RunLock>,
}

/// A step's loss terms: on their way back from the GPU, or already on the
/// host (an accumulating step reads them back as it combines ranks).
enum StepLosses {
    Pending(PendingScalars),
    Ready(Vec<f32>),
}

impl StepLosses {
    fn wait(self) -> Result<Vec<f32>> {
        match self {
            StepLosses::Pending(p) => p.wait(),
            StepLosses::Ready(v) => Ok(v),
        }
    }
}

/// Trains per `opts` until the last step or until `stop` is set.
pub fn train(
    ctx: &GpuContext,
    opts: &TrainOptions,
    observer: &mut dyn Observer,
    stop: &AtomicBool,
) -> Result<Outcome> {
    train_ranks(ctx, opts, observer, stop, &SingleProcess)
}

/// `train` as one rank of a data-parallel job: every rank takes its share
/// of each global batch, the gradients are summed over the ranks, every
/// rank applies the same update, and rank 0 alone writes metrics, samples
/// and checkpoints. Every rank stops on the same step.
pub fn train_ranks(
    ctx: &GpuContext,
    opts: &TrainOptions,
    observer: &mut dyn Observer,
    stop: &AtomicBool,
    collective: &dyn Collective,
) -> Result<Outcome> {
    // Before any file is touched. The overflow mark that skips a
    // mixed-precision step is not exchanged between ranks yet.
    if ctx.precision() == crate::gpu::Precision::Mixed && collective.size() > 1 {
        return Err(Error::Invalid(
            "mixed-precision training runs on one process for now; train several ranks with \
             --precision f32"
                .into(),
        ));
    }
    let writer = collective.rank() == 0;
    let dir = RunDir {
        root: opts.out.clone(),
    };
    // Resolve the configuration from the options and the checkpoint.
    let loaded = match &opts.start {
        Start::Fresh => None,
        Start::Init(p) | Start::Resume(p) => Some(Checkpoint::read(p)?),
    };
    let resume = matches!(opts.start, Start::Resume(_));
    let settings = RunSettings::resolve(opts, loaded.as_ref(), resume, collective.size())?;
    let RunSettings {
        net,
        finetune,
        crop,
        seed,
        lr,
        lr_schedule,
        size,
        batch,
        accum,
        ema,
        first_step,
        ..
    } = settings;
    let micro = micro_batch(batch, accum, collective.size())?;
    // The data is checked before the run folder is made or locked.
    let mut files = source_files(&opts.data)?;
    // Folders inside a data folder that hold no training images: the
    // run's own (sample grids, checkpoints) and the masks. Their files are
    // left out; either one being the data folder itself is refused.
    let not_data = [
        (
            "--out",
            Some(&opts.out),
            "its sample grids are not trained on",
        ),
        (
            "--masks",
            opts.masks.as_ref(),
            "the masks are not trained on as images",
        ),
    ];
    for (flag, folder, why) in not_data {
        let Some(folder) = folder else {
            continue;
        };
        let Some(data) = opts
            .data
            .iter()
            .find(|s| crate::io::files::is_below(folder, &s.dir))
        else {
            continue;
        };
        if crate::io::files::same_file(folder, &data.dir) {
            return Err(Error::Invalid(format!(
                "{} {} is the --data folder: it needs a folder of its own (its files would be \
                 trained on as images)",
                flag,
                folder.display()
            )));
        }
        observer.warning(&format!(
            "{} ({}) is inside {} (--data): {}",
            folder.display(),
            flag,
            data.dir.display(),
            why
        ));
        files.retain(|f| !crate::io::files::is_below(f, folder));
    }
    if let Some(list) = &opts.exclude {
        files = without_listed(files, list, &opts.data)?;
    }
    let masks = match &opts.masks {
        Some(d) => MaskSource::folder_except(d, Some(&opts.out))?,
        None => MaskSource::GENERATED,
    };
    let _lock = if writer {
        Some(RunLock::take(&dir, &mut |text| observer.warning(text))?)
    } else {
        None
    };
    let run_id = if writer {
        claim(
            &dir,
            match &opts.start {
                Start::Resume(p) => Some((
                    p.as_path(),
                    loaded
                        .as_ref()
                        .and_then(|ck| ck.extra.get(RUN_ID_KEY).cloned()),
                )),
                _ => None,
            },
        )?
    } else {
        String::new()
    };

    let last_step = settings.last_step(opts.length, files.len());
    if last_step > MAX_STEP {
        return Err(Error::Invalid(format!(
            "{last_step} steps is more than {MAX_STEP}"
        )));
    }
    let vgg_weights = VggWeights::read_or_bundled(opts.vgg.as_deref())?;
    let mode = if finetune {
        Mode::FineTune
    } else {
        Mode::Train
    };
    let session = TrainSession::compile(
        ctx,
        &TrainStepConfig {
            net,
            vgg: VggConfig::VGG16,
            preprocess: vgg_weights.preprocess,
            batch: micro,
            height: size,
            width: size,
            ignore_unknown: false,
            mode,
            ema: ema.map(|d| d as f32),
            accumulate: micro < batch,
            loss_scaling: ctx.precision() == crate::gpu::Precision::Mixed,
        },
        true,
    )?;
    session.upload_vgg(&vgg_weights)?;
    let mut adam_t0 = 0;
    match &loaded {
        Some(ck) => {
            let mut ck = ck.clone();
            if !resume {
                // A new run starts from the weights a model would run.
                ck = ck.for_inference();
            } else if let Some(a) = &ck.adam {
                adam_t0 = a.step;
            }
            session.step.upload_checkpoint(&session.exec, &ck)?;
            // A resumed mixed-precision run continues its loss scale.
            let run = RunMetadata::read(&ck.extra)?;
            if let (true, Some(scale)) = (resume, run.loss_scale) {
                let clean = run.loss_scale_clean_steps.unwrap_or(0) as f32;
                session.set_loss_scaler(crate::ops::optim::loss_scaler(scale, clean, 0.0))?;
            }
        }
        None => session.upload_initial_weights(seed)?,
    }
    broadcast_model(&session, collective)?;
    if writer {
        for sub in ["checkpoints", "samples"] {
            std::fs::create_dir_all(dir.root.join(sub))
                .map_err(|e| Error::Invalid(format!("{}: {e}", dir.root.join(sub).display())))?;
        }
        dir.set_run_id(&run_id)?;
    }
    let info = RunInfo {
        net,
        mode,
        lr,
        lr_schedule,
        ema,
        seed,
        first_step,
        last_step,
        images: files.len(),
        batch,
        accum,
        ranks: collective.size(),
        size,
        dispatches: session.exec.dispatch_count(),
        planned_bytes: session.exec.plan().planned_bytes(),
        out: dir.root.clone(),
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).clamp(1, 8));
    // Each rank loads only its share of every global batch.
    let ranks = collective.size();
    let spec = BatchSpec {
        batch,
        size,
        crop,
        seed,
        share: (ranks > 1).then(|| rank_share(batch, collective.rank(), ranks)),
    };
    let loader = ImageLoader::start(files, masks, spec, first_step, workers);
    let mut log = if writer {
        Some(MetricsLog::open(&dir.metrics(), first_step)?)
    } else {
        None
    };
    observer.started(&info);
    let mut run = Run {
        ctx,
        session,
        collective,
        info,
        dir,
        adam_t0,
        finetune,
        crop,
        last_saved: if resume {
            match &opts.start {
                Start::Resume(p) => Some((first_step, p.clone())),
                _ => None,
            }
        } else {
            None
        },
        run_id,
        _lock,
    };
    run.train_loop(loader, &mut log, observer, stop, opts)
}

type InFlight = VecDeque<(u64, StepLosses)>;

impl Run<'_> {
    /// Trains; a failure that leaves the weights sound (the data loader
    /// failing, a write error) first saves the last finished step, so no
    /// step is lost to it.
    fn train_loop(
        &mut self,
        loader: ImageLoader,
        log: &mut Option<MetricsLog>,
        observer: &mut dyn Observer,
        stop: &AtomicBool,
        opts: &TrainOptions,
    ) -> Result<Outcome> {
        let mut inflight = InFlight::new();
        let mut done = self.info.first_step;
        let result = self.steps(loader, log, observer, stop, opts, &mut inflight, &mut done);
        let e = match result {
            Err(e)
                if !matches!(
                    e,
                    Error::NonFinite(_) | Error::Gpu(_) | Error::OutOfMemory(_)
                ) =>
            {
                e
            }
            other => return other,
        };
        let mut last_arrival = Instant::now();
        while let Some((s, p)) = inflight.pop_front() {
            if self
                .collect(s, p, &mut last_arrival, observer, log)
                .is_err()
            {
                return Err(e);
            }
            done = s;
        }
        if done == self.info.first_step || self.last_saved.as_ref().is_some_and(|(s, _)| *s == done)
        {
            return Err(Error::Invalid(format!("{e}; {}", self.kept_checkpoint())));
        }
        match self.save(done, observer) {
            Ok(p) => Err(Error::Invalid(format!(
                "{e}; the weights of step {done} were saved first (continue with --resume {})",
                p.display()
            ))),
            Err(_) => Err(Error::Invalid(format!("{e}; {}", self.kept_checkpoint()))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn steps(
        &mut self,
        mut loader: ImageLoader,
        log: &mut Option<MetricsLog>,
        observer: &mut dyn Observer,
        stop: &AtomicBool,
        opts: &TrainOptions,
        inflight: &mut InFlight,
        done: &mut u64,
    ) -> Result<Outcome> {
        let mut last_arrival = Instant::now();
        for step in self.info.first_step + 1..=self.info.last_step {
            let mut control = observer.control();
            if control != Control::Continue {
                // Settle the steps in flight first: a pause holds nothing
                // on the GPU, and a save writes the weights they produced.
                while let Some((s, p)) = inflight.pop_front() {
                    self.collect(s, p, &mut last_arrival, observer, log)?;
                }
            }
            while control == Control::Pause && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(50));
                control = observer.control();
                last_arrival = Instant::now();
            }
            if control == Control::SaveNow
                && *done > 0
                && self.last_saved.as_ref().map(|(s, _)| *s) != Some(*done)
            {
                self.save_or_warn(*done, observer)?;
            }
            if self.collective.any(stop.load(Ordering::SeqCst))? {
                break;
            }
            let batch = loader.next_batch()?;
            let t = self.adam_t0 + (step - self.info.first_step);
            inflight.push_back((step, self.submit(&batch, self.lr_at(step), t)?));
            // One step stays queued behind the one we wait for, so the GPU
            // never idles while the host reads losses back.
            while inflight.len() > 1 {
                let (s, p) = inflight.pop_front().expect("non-empty");
                self.collect(s, p, &mut last_arrival, observer, log)?;
            }
            let sample = step.is_multiple_of(opts.sample_every);
            let save = step.is_multiple_of(opts.checkpoint_every);
            if sample || save {
                while let Some((s, p)) = inflight.pop_front() {
                    self.collect(s, p, &mut last_arrival, observer, log)?;
                }
                if sample {
                    self.write_sample(step, observer);
                }
                if save {
                    self.save_or_warn(step, observer)?;
                }
                last_arrival = Instant::now();
            }
            *done = step;
        }
        while let Some((s, p)) = inflight.pop_front() {
            self.collect(s, p, &mut last_arrival, observer, log)?;
        }
        let done = *done;
        let checkpoint = match &self.last_saved {
            Some((s, p)) if *s == done => p.clone(),
            _ => self.save(done, observer)?,
        };
        if done < self.info.last_step {
            Ok(Outcome::Interrupted {
                step: done,
                checkpoint,
            })
        } else {
            Ok(Outcome::Finished {
                step: done,
                checkpoint,
            })
        }
    }

    /// Submits a step on the global `batch`: at once where one process
    /// runs it whole, else this rank's share micro-batch by micro-batch,
    /// combined with the other ranks.
    fn submit(&self, batch: &Batch, lr: f64, t: u64) -> Result<StepLosses> {
        if !self.session.step.accumulate {
            self.session.write_batch(&batch.images, &batch.masks)?;
            return Ok(StepLosses::Pending(self.session.submit(lr, t)?));
        }
        // The loader gave this rank its share of the global batch.
        let losses = accumulated_step(
            &self.session,
            self.collective,
            self.info.accum,
            &batch.images,
            &batch.masks,
            lr,
            t,
        )?;
        Ok(StepLosses::Ready(losses))
    }

    /// Waits for a step's losses, logs them and stops on a non-finite loss
    /// or a device error.
    fn collect(
        &self,
        step: u64,
        pending: StepLosses,
        last_arrival: &mut Instant,
        observer: &mut dyn Observer,
        log: &mut Option<MetricsLog>,
    ) -> Result<()> {
        let values = pending.wait()?;
        let now = Instant::now();
        let dt = now.duration_since(*last_arrival).as_secs_f64();
        *last_arrival = now;
        let losses = crate::loss::LossTerms::from_slice(&values)
            .ok_or_else(|| Error::Invalid("the step read back too few loss terms".into()))?
            .map(f64::from);
        // With loss scaling the scaler follows the loss terms.
        let scaler = values.get(crate::loss::TERM_NAMES.len()..);
        let m = StepMetrics {
            step,
            losses,
            lr: self.lr_at(step),
            images_per_s: self.info.batch as f64 / dt.max(1e-9),
            loss_scale: scaler
                .filter(|s| s.len() == 4)
                .map(|s| (s[0] as f64, s[3] as f64)),
        };
        if let Some(warning) = log.as_mut().and_then(|log| log.append(&m)) {
            observer.warning(&warning);
        }
        observer.step(&m);
        if !m.is_finite() {
            let kept = self.kept_checkpoint();
            return Err(Error::NonFinite(format!(
                "the loss became non-finite at step {step} ({}); training stopped and {kept}; \
                 try a lower --lr",
                losses.describe()
            )));
        }
        let errors = self.ctx.take_errors();
        if !errors.is_empty() {
            return Err(Error::Gpu(format!(
                "{} (the device may be lost or out of memory; try a smaller --batch or --size)",
                errors.join("; ")
            )));
        }
        Ok(())
    }

    /// The learning rate of `step` under the run's schedule.
    fn lr_at(&self, step: u64) -> f64 {
        self.info
            .lr_schedule
            .lr(self.info.lr, step, self.info.last_step)
    }

    fn kept_checkpoint(&self) -> String {
        match &self.last_saved {
            Some((s, p)) => format!("the last good checkpoint is {} (step {s})", p.display()),
            None => "no checkpoint was saved yet".into(),
        }
    }

    /// Writes `checkpoints/step-N` and `latest`, both atomically.
    /// A save during training: a failed write (full disk) keeps training,
    /// since the previous checkpoint is intact and the next save retries;
    /// non-finite weights stop the run.
    fn save_or_warn(&mut self, step: u64, observer: &mut dyn Observer) -> Result<()> {
        match self.save(step, observer) {
            Err(e @ Error::NonFinite(_)) => Err(e),
            Err(e) => {
                observer.warning(&format!("checkpoint at step {step} not saved: {e}"));
                Ok(())
            }
            Ok(_) => Ok(()),
        }
    }

    fn save(&mut self, step: u64, observer: &mut dyn Observer) -> Result<PathBuf> {
        if self.collective.rank() != 0 {
            // Rank 0 writes the run's checkpoints.
            return Ok(self.dir.latest());
        }
        let mut ck = self
            .session
            .step
            .download_checkpoint(&self.session.exec, step)?;
        // The losses of a step are computed before its update, so a finite
        // loss does not prove the updated weights are; check them here.
        if let Some(name) = ck
            .tensors
            .iter()
            .find(|(_, t)| t.data.iter().any(|v| !v.is_finite()))
            .map(|(n, _)| n)
        {
            return Err(Error::NonFinite(format!(
                "{name} became non-finite at step {step}; training stopped and {}; try a lower --lr",
                self.kept_checkpoint()
            )));
        }
        if let Some(a) = &mut ck.adam {
            a.step = self.adam_t0 + (step - self.info.first_step);
        }
        ck.extra.insert(RUN_ID_KEY.into(), self.run_id.clone());
        let scaler = self.session.loss_scaler()?;
        RunMetadata {
            seed: Some(self.info.seed),
            lr: Some(self.info.lr),
            lr_schedule: Some(self.info.lr_schedule),
            steps: Some(self.info.last_step),
            ema: self.info.ema,
            finetune: self.finetune,
            batch: Some(self.info.batch),
            micro_batches: Some(self.info.accum * self.info.ranks),
            size: Some(self.info.size),
            crop: Some(self.crop),
            loss_scale: scaler.map(|s| s[0]),
            loss_scale_clean_steps: scaler.map(|s| s[2] as u32),
        }
        .write(&mut ck.extra);
        ck.write(&self.dir.numbered(step))?;
        let latest = self.dir.latest();
        ck.write(&latest)?;
        self.last_saved = Some((step, latest.clone()));
        observer.checkpoint(step, &latest);
        Ok(latest)
    }

    /// Writes a sample grid; a failed write (a full disk) is a warning and
    /// leaves no temporary file, and the next sample tries again.
    fn write_sample(&mut self, step: u64, observer: &mut dyn Observer) {
        if self.collective.rank() != 0 {
            return;
        }
        let grid = (|| -> Result<image::RgbImage> {
            let images = self.session.exec.read(self.session.step.image)?;
            let masks = self.session.exec.read(self.session.step.mask)?;
            let outputs = self.session.exec.read(self.session.step.output)?;
            let s = self.info.size;
            Ok(sample_grid(&images, &masks, &outputs, s, s, 4))
        })();
        let path = self.dir.sample(step);
        let written = grid.and_then(|grid| {
            crate::raster::files::save_atomic(&image::DynamicImage::ImageRgb8(grid.clone()), &path)
                .map(|_| grid)
        });
        match written {
            Ok(grid) => observer.sample(step, &path, &grid),
            Err(e) => observer.warning(&format!("sample at step {step} not written: {e}")),
        }
    }
}
