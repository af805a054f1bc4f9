//! `pconv --headless train`: the training loop with a progress bar; Ctrl-C
//! saves a checkpoint and exits cleanly.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::args::{int_in, number_in, usize_in, MAX_STEPS};
use super::progress::Progress;
use pconv::data::images::Crop;
use pconv::gpu::GpuContext;
use pconv::train::trainer::{MAX_BATCH, MAX_SIZE};
use pconv::train::{
    Length, LrSchedule, Observer, Outcome, RunInfo, Start, StepMetrics, TrainOptions,
};

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Training images: every PNG/JPEG/WebP/BMP below this folder. Give it
    /// again for more folders; DIR:K shows each image of DIR K times per
    /// epoch (mix a small source into a large one).
    #[arg(long, required = true, value_parser = pconv::data::images::DataSource::parse)]
    data: Vec<pconv::data::images::DataSource>,
    /// Mask PNGs (white = hole, any size); default: free-form masks made on the fly.
    #[arg(long, visible_alias = "mask")]
    masks: Option<PathBuf>,
    /// A text file of image file names (one per line) to leave out, e.g.
    /// assets/faces128-holdout.txt (the 500 faces kept for evaluation).
    #[arg(long)]
    exclude: Option<PathBuf>,
    /// Training crop size (a multiple of 2^levels) [default: 256, or the
    /// resumed run's].
    #[arg(long, value_parser = usize_in(1, MAX_SIZE))]
    size: Option<usize>,
    /// Resize each image so its short side is --size before the random crop
    /// (train on whole images at a smaller size) instead of cropping at full
    /// resolution [default: a resumed run keeps its way of cropping].
    #[arg(long, conflicts_with = "crop_scale")]
    resize: bool,
    /// Resize each image so its short side is a random length from MIN to
    /// MAX times --size (never above its own) before the random crop:
    /// photos of many sizes seen at the scales they are inpainted at,
    /// e.g. 1:2.
    #[arg(long, value_name = "MIN:MAX", value_parser = Crop::parse_scale)]
    crop_scale: Option<Crop>,
    /// [default: 12, or the resumed run's]
    #[arg(long, value_parser = usize_in(1, MAX_BATCH))]
    batch: Option<usize>,
    /// U-Net levels [default: 7, or the checkpoint's].
    #[arg(long, value_parser = usize_in(1, 12))]
    levels: Option<usize>,
    /// Channel width multiplier [default: 1.0, or the checkpoint's].
    #[arg(long, value_parser = number_in(0.0, 16.0))]
    width: Option<f64>,
    /// Total optimiser steps (a resumed run counts its earlier steps)
    /// [default: 100000, or the resumed run's].
    #[arg(long, conflicts_with = "epochs", value_parser = int_in(1, MAX_STEPS))]
    steps: Option<u64>,
    /// Train for this many passes over the data instead of --steps.
    #[arg(long, value_parser = int_in(1, 1_000_000))]
    epochs: Option<u64>,
    /// Learning rate [default: 2e-4, 5e-5 with --finetune, or the resumed run's].
    #[arg(long, value_parser = number_in(0.0, 1.0))]
    lr: Option<f64>,
    /// The learning rate over the run: constant, a tenth for the last third
    /// of the steps (step), or a cosine down to a hundredth (cosine)
    /// [default: constant, or the resumed run's].
    #[arg(long, value_enum)]
    lr_schedule: Option<ScheduleArg>,
    /// Keep an exponential moving average of the weights with this decay
    /// (e.g. 0.999): checkpoints carry it as ema.*, and inference and
    /// `pconv export` use it [default: none, or the resumed run's].
    #[arg(long, value_parser = number_in(0.0, 0.999_999))]
    ema: Option<f64>,
    /// The paper's fine-tuning stage: encoder BatchNorm frozen, lr 5e-5.
    #[arg(long)]
    finetune: bool,
    /// Start from a checkpoint's weights (new optimiser, step 0).
    #[arg(long, conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// Continue a run exactly: weights, Adam state, step count and seed.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// VGG-16 weights (safetensors) for the perceptual and style losses
    /// [default: the bundled ImageNet weights].
    #[arg(long)]
    vgg: Option<PathBuf>,
    /// Output folder: latest.safetensors, checkpoints/, samples/, metrics.jsonl.
    #[arg(long, default_value = "runs/train", visible_alias = "output")]
    out: PathBuf,
    #[arg(long, default_value_t = 1000, value_parser = int_in(1, MAX_STEPS))]
    checkpoint_every: u64,
    #[arg(long, default_value_t = 500, value_parser = int_in(1, MAX_STEPS))]
    sample_every: u64,
    /// Seed of the data order, augmentation, masks and initial weights
    /// [default: 0, or the resumed run's].
    #[arg(long)]
    seed: Option<u64>,
    /// Gradient accumulation: split each batch into K micro-batches and
    /// update once per batch (--batch stays the batch of one update; it
    /// must divide by K, and by K times the ranks under mpirun)
    /// [default: 1, or the resumed run's split].
    #[arg(long, value_parser = usize_in(1, MAX_BATCH))]
    accum: Option<usize>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ScheduleArg {
    Constant,
    Step,
    Cosine,
}

struct Console {
    progress: Option<Progress>,
}

impl Console {
    fn say(&mut self, text: &str) {
        match &mut self.progress {
            Some(p) => p.message(text),
            None => eprintln!("{text}"),
        }
    }
}

/// How each batch is split: " (2 ranks × 2 micro-batches of 3)", or
/// nothing for one process without accumulation.
fn split(r: &RunInfo) -> String {
    let parts = r.accum * r.ranks;
    if parts == 1 {
        return String::new();
    }
    let ranks = if r.ranks > 1 {
        format!("{} ranks × ", r.ranks)
    } else {
        String::new()
    };
    format!(" ({ranks}{} micro-batches of {})", r.accum, r.batch / parts)
}

impl Observer for Console {
    fn started(&mut self, r: &RunInfo) {
        eprintln!(
            "training L{} width {} ({:?}) on {} images, {}x{} batch {}{}, lr {:e} ({}){}, seed {}: steps {}..{}, \
             {} dispatches per step, planned GPU memory {:.0} MiB; output in {}",
            r.net.levels,
            r.net.width,
            r.mode,
            r.images,
            r.size,
            r.size,
            r.batch,
            split(r),
            r.lr,
            r.lr_schedule.name(),
            r.ema.map(|d| format!(", weights averaged (decay {d})")).unwrap_or_default(),
            r.seed,
            r.first_step + 1,
            r.last_step,
            r.dispatches,
            r.planned_bytes as f64 / 1048576.0,
            r.out.display()
        );
        self.progress = Some(Progress::new(r.first_step, r.last_step));
    }

    fn step(&mut self, m: &StepMetrics) {
        if let Some(p) = &mut self.progress {
            p.update(
                m.step,
                &format!(
                    "loss {:.4} (hole {:.4}, valid {:.4}) | {:.2} img/s",
                    m.total(),
                    m.losses.hole,
                    m.losses.valid,
                    m.images_per_s
                ),
            );
        }
    }

    fn sample(&mut self, step: u64, path: &std::path::Path, _grid: &image::RgbImage) {
        self.say(&format!("step {step}: sample {}", path.display()));
    }

    fn checkpoint(&mut self, step: u64, path: &std::path::Path) {
        self.say(&format!("step {step}: checkpoint {}", path.display()));
    }

    fn warning(&mut self, text: &str) {
        self.say(&format!("warning: {text}"));
    }
}

fn train_headless(opts: &TrainOptions, stop: &AtomicBool) -> Result<Outcome> {
    let ctx = GpuContext::new().context("opening the GPU")?;
    let mut console = Console { progress: None };
    let outcome = pconv::train::train(&ctx, opts, &mut console, stop);
    if let Some(p) = &mut console.progress {
        p.finish();
    }
    outcome.map_err(|e| anyhow::anyhow!(e.with_step_hint()))
}

/// One rank of an MPI job (`mpirun -np N pconv --headless train …`): the
/// adapter by local rank, rank 0's console, the others quiet but for
/// errors.
#[cfg(feature = "mpi")]
fn train_rank(
    mpi: &pconv::train::parallel::mpi::Mpi,
    opts: &TrainOptions,
    stop: &AtomicBool,
) -> Result<Outcome> {
    use pconv::train::parallel::Collective;
    let ctx = GpuContext::for_local_process(mpi.local_rank()).context("opening the GPU")?;
    let outcome = if mpi.rank() == 0 {
        let mut console = Console { progress: None };
        let outcome = pconv::train::train_ranks(&ctx, opts, &mut console, stop, mpi);
        if let Some(p) = &mut console.progress {
            p.finish();
        }
        outcome
    } else {
        struct Quiet;
        impl Observer for Quiet {}
        pconv::train::train_ranks(&ctx, opts, &mut Quiet, stop, mpi)
    };
    outcome.map_err(|e| anyhow::anyhow!("rank {}: {}", mpi.rank(), e.with_step_hint()))
}

/// Trains; the exit code is 0 when the run finished and 130 (as shells
/// report an interrupted command) when a signal or the window stopped it
/// early, after saving.
pub fn run(a: TrainArgs, headless: bool) -> Result<ExitCode> {
    let opts = TrainOptions {
        data: a.data,
        masks: a.masks,
        exclude: a.exclude,
        size: a.size,
        crop: a.crop_scale.or(a.resize.then_some(Crop::Resize)),
        batch: a.batch,
        levels: a.levels,
        width: a.width,
        length: match (a.steps, a.epochs) {
            (_, Some(e)) => Some(Length::Epochs(e)),
            (Some(s), None) => Some(Length::Steps(s)),
            (None, None) => None,
        },
        ema: a.ema,
        lr_schedule: a.lr_schedule.map(|s| match s {
            ScheduleArg::Constant => LrSchedule::Constant,
            ScheduleArg::Step => LrSchedule::Step,
            ScheduleArg::Cosine => LrSchedule::Cosine,
        }),
        lr: a.lr,
        finetune: a.finetune,
        start: match (a.init, a.resume) {
            (Some(p), _) => Start::Init(p),
            (_, Some(p)) => Start::Resume(p),
            _ => Start::Fresh,
        },
        vgg: a.vgg,
        out: a.out,
        checkpoint_every: a.checkpoint_every,
        sample_every: a.sample_every,
        seed: a.seed,
        accum: a.accum,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            // A second Ctrl-C while saving: leave at once (the checkpoint
            // write is atomic, so nothing half-written remains).
            std::process::exit(130);
        }
        eprintln!(
            "\nstopping after the current step and saving a checkpoint (Ctrl-C again to quit now)"
        );
    })
    .context("installing the Ctrl-C handler")?;
    #[cfg(feature = "mpi")]
    let mpi = pconv::train::parallel::mpi::Mpi::init()?;
    #[cfg(feature = "mpi")]
    if let Some(mpi) = &mpi {
        // Every rank of a job trains headless; rank 0 reports. A rank that
        // fails ends the job (its error first), so none waits for it.
        pconv::train::parallel::mpi::abort_job_on_panic();
        let outcome = match train_rank(mpi, &opts, &stop) {
            Ok(outcome) => outcome,
            Err(e) => {
                eprintln!("error: {e:#}");
                mpi.abort(1)
            }
        };
        if pconv::train::parallel::Collective::rank(mpi) == 0 {
            return report(outcome);
        }
        return Ok(match outcome {
            Outcome::Finished { .. } => ExitCode::SUCCESS,
            Outcome::Interrupted { .. } => ExitCode::from(INTERRUPTED),
        });
    }
    let outcome = if headless {
        train_headless(&opts, &stop)?
    } else {
        match pconv::app::ui::dashboard::run(opts.clone(), stop.clone()) {
            Ok(Some(outcome)) => outcome.map_err(|e| anyhow::anyhow!(e))?,
            Ok(None) => {
                eprintln!("the window was closed before training began");
                return Ok(ExitCode::from(INTERRUPTED));
            }
            Err(e) => {
                eprintln!("note: {e:#}; training headless");
                train_headless(&opts, &stop)?
            }
        }
    };
    report(outcome)
}

/// Says how the run ended; the exit code (0, or 130 when interrupted).
fn report(outcome: Outcome) -> Result<ExitCode> {
    match outcome {
        Outcome::Finished { step, checkpoint } => {
            eprintln!(
                "finished at step {step}; weights in {}",
                checkpoint.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Interrupted { step, checkpoint } => {
            eprintln!(
                "interrupted after step {step}; saved {} (continue with --resume {})",
                checkpoint.display(),
                checkpoint.display()
            );
            Ok(ExitCode::from(INTERRUPTED))
        }
    }
}

/// The exit code of a run stopped early (128 + SIGINT).
const INTERRUPTED: u8 = 130;
