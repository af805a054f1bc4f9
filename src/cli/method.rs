//! Choosing how holes are filled: a checkpoint, the bundled model, or Telea.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use pconv::gpu::GpuContext;
use pconv::infer::{telea::DEFAULT_RADIUS, Method, PConvModel};
use pconv::model::Checkpoint;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// The PConv-UNet (--checkpoint, or the bundled model).
    Pconv,
    /// Telea's fast-marching inpainting (2004), the classical baseline.
    Telea,
}

/// Where the bundled model is looked for: `assets/models/default.safetensors`
/// next to the executable or in the source tree.
fn bundled_model() -> Option<PathBuf> {
    let rel = Path::new("assets/models/default.safetensors");
    let mut places = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)];
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        places.insert(0, dir.join(rel));
    }
    places.into_iter().find(|p| p.exists())
}

/// The GPU is opened only when the method needs it.
pub fn load(
    method: MethodArg,
    checkpoint: Option<&Path>,
    ctx: impl FnOnce() -> Result<GpuContext>,
) -> Result<Method> {
    match method {
        MethodArg::Telea => Ok(Method::Telea {
            radius: DEFAULT_RADIUS,
        }),
        MethodArg::Pconv => {
            let path = match checkpoint.map(Path::to_path_buf).or_else(bundled_model) {
                Some(p) => p,
                None => bail!(
                    "no model: pass --checkpoint FILE (no bundled model is installed yet), or use --method telea"
                ),
            };
            let ck = Checkpoint::read(&path)
                .with_context(|| format!("reading the checkpoint {}", path.display()))?;
            Ok(Method::PConv(Box::new(PConvModel::new(&ctx()?, ck))))
        }
    }
}

pub fn open_gpu() -> Result<GpuContext> {
    GpuContext::new().context("opening the GPU")
}
