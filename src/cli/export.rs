//! `pconv export`: the model a checkpoint runs, for shipping: its weights
//! and BatchNorm statistics (the moving average's, for a run with `--ema`)
//! and metadata, without the Adam state; a third of a training
//! checkpoint's size. It resumes nothing (use `--init` to fine-tune from it).
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use pconv::model::Checkpoint;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The training checkpoint to read.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Where to write the weights-only checkpoint (atomically).
    #[arg(long, visible_alias = "output")]
    out: PathBuf,
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
        }
    );
    Ok(())
}
