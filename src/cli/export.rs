//! `pconv export`: the model a checkpoint runs, for shipping: its weights
//! and BatchNorm statistics (the moving average's, for a run with `--ema`)
//! and metadata, without the Adam state; a third of a training
//! checkpoint's size. It resumes nothing (use `--init` to fine-tune from it).
//! With `--recalibrate DATA` the BatchNorm statistics are recomputed for
//! the exported weights over training images first.
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::args::usize_in;
use super::progress::{self, Progress};
use pconv::data::images::{source_files, without_listed, Crop, DataSource};
use pconv::data::masks::MaskSource;
use pconv::gpu::GpuContext;
use pconv::io::files::{is_below, same_file};
use pconv::model::{Checkpoint, Mode};
use pconv::train::recalibrate::{recalibrate_batch_norm, RecalibrationOptions};
use pconv::train::run_config::RunMetadata;
use pconv::train::trainer::{DEFAULT_BATCH, MAX_BATCH, MAX_SIZE};

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The training checkpoint to read.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Where to write the weights-only checkpoint (atomically).
    #[arg(long, visible_alias = "output")]
    out: PathBuf,
    /// Recompute the BatchNorm statistics for the exported weights over
    /// images of this folder (the training data; DIR:K and repeats as in
    /// `train --data`), with the run's crops and generated masks: training
    /// leaves a moving average of its last batches there, taken while the
    /// weights still moved. Those that used batch statistics in the run's
    /// last stage (the decoder's after `--finetune`, else all).
    #[arg(long, value_parser = DataSource::parse)]
    recalibrate: Vec<DataSource>,
    /// With --recalibrate: a text file of image file names to leave out,
    /// e.g. assets/faces128-holdout.txt.
    #[arg(long, requires = "recalibrate")]
    exclude: Option<PathBuf>,
    /// With --recalibrate: mask PNGs (white = hole) instead of generated masks.
    #[arg(long, requires = "recalibrate")]
    masks: Option<PathBuf>,
    /// With --recalibrate: how many images (in whole batches).
    #[arg(long, default_value_t = 1024, requires = "recalibrate", value_parser = usize_in(1, 10_000_000))]
    images: usize,
    /// With --recalibrate: images per batch [default: the run's training batch].
    #[arg(long, requires = "recalibrate", value_parser = usize_in(1, MAX_BATCH))]
    batch: Option<usize>,
    /// With --recalibrate: the crop size [default: the run's training size].
    #[arg(long, requires = "recalibrate", value_parser = usize_in(1, MAX_SIZE))]
    size: Option<usize>,
}

pub fn run(a: ExportArgs) -> Result<()> {
    if pconv::io::files::same_file(&a.out, &a.checkpoint) {
        bail!(
            "--out {} is the checkpoint being read: it must differ from --checkpoint (the training checkpoint is kept)",
            a.out.display()
        );
    }
    let mut ck = Checkpoint::read(&a.checkpoint)
        .with_context(|| format!("reading {}", a.checkpoint.display()))?;
    let averaged = ck.ema.is_some();
    ck = ck.for_inference();
    let mut recalibrated = String::new();
    if !a.recalibrate.is_empty() {
        let (model, text) = recalibrated_model(&a, ck)?;
        (ck, recalibrated) = (model, text);
    }
    ck.write(&a.out)
        .with_context(|| format!("writing {}", a.out.display()))?;
    let bytes = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    println!(
        "{}: levels {}, width {}, step {}, {:.1} MB{}",
        a.out.display(),
        ck.config.levels,
        ck.config.width,
        ck.step,
        bytes as f64 / 1e6,
        if averaged {
            ", the weights' moving average"
        } else {
            ""
        },
    );
    if !recalibrated.is_empty() {
        println!("{recalibrated}");
    }
    Ok(())
}

/// `ck` with its BatchNorm statistics recomputed as `a` asks, and a line
/// saying what was done.
fn recalibrated_model(a: &ExportArgs, ck: Checkpoint) -> Result<(Checkpoint, String)> {
    let run = RunMetadata::read(&ck.extra)?;
    let size = match a.size.or(run.size) {
        Some(s) => s,
        None => bail!(
            "{}: no training size in its metadata: give --size",
            a.checkpoint.display()
        ),
    };
    let mut files = source_files(&a.recalibrate)?;
    if let Some(list) = &a.exclude {
        files = without_listed(files, list, &a.recalibrate)?;
    }
    let masks = match &a.masks {
        Some(d) => {
            // Masks kept inside a data folder are not images to normalise.
            if a.recalibrate.iter().any(|s| same_file(d, &s.dir)) {
                bail!(
                    "--masks {} is a --recalibrate folder: the masks need a folder of their own",
                    d.display()
                );
            }
            files.retain(|f| !is_below(f, d));
            if files.is_empty() {
                bail!(
                    "no images left to recalibrate on outside --masks {}",
                    d.display()
                );
            }
            MaskSource::folder(d)?
        }
        None => MaskSource::GENERATED,
    };
    let opts = RecalibrationOptions {
        files,
        masks,
        images: a.images,
        batch: a.batch.or(run.batch).unwrap_or(DEFAULT_BATCH),
        size,
        crop: run.crop.unwrap_or(Crop::Full),
        seed: 0,
    };
    let ctx = GpuContext::new().context("opening the GPU")?;
    let mut bar: Option<Progress> = None;
    let (ck, done) = recalibrate_batch_norm(&ctx, ck, &opts, &mut |n, total| {
        if progress::on_terminal() {
            let b = bar.get_or_insert_with(|| Progress::counting("image", 0, total as u64));
            b.update(n as u64, "");
        }
    })
    .context("recalibrating BatchNorm")?;
    if let Some(b) = bar.as_mut() {
        b.finish();
    }
    let which = match done.mode {
        Mode::FineTune => "the decoder's, as fine-tuning normalised them",
        _ => "every layer's",
    };
    Ok((
        ck,
        format!(
            "BatchNorm statistics recalibrated over {} images at {size}² ({which}: {})",
            done.images,
            done.layers.join(", ")
        ),
    ))
}
