//! Choosing how holes are filled: a checkpoint, the bundled model, or Telea.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use pconv::gpu::GpuContext;
use pconv::infer::{telea::DEFAULT_RADIUS, FitMethod, Method, PConvModel};
use pconv::model::Checkpoint;
use pconv::train::fit::FitOptions;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// The PConv-UNet (--checkpoint, or the bundled model).
    #[default]
    Pconv,
    /// Telea's fast-marching inpainting (2004), the classical baseline.
    Telea,
    /// "Fit this image": train a small fresh network on each image itself
    /// (its known pixels under random masks) for --fit-steps, then fill it.
    Fit,
}

/// Steps of `--method fit` per image.
pub const DEFAULT_FIT_STEPS: u64 = 200;

/// A file under `assets/`, looked for next to the executable, then in the
/// source tree.
pub fn asset(rel: &str) -> Option<PathBuf> {
    let rel = Path::new("assets").join(rel);
    let mut places = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(&rel)];
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        places.insert(0, dir.join(&rel));
    }
    places.into_iter().find(|p| p.exists())
}

/// The bundled face model (see assets/models/README.md).
pub fn bundled_model() -> Option<PathBuf> {
    asset(BUNDLED_MODEL)
}

pub const BUNDLED_MODEL: &str = "models/faces128.safetensors";

/// The GPU is opened only when the method needs it.
pub fn load(
    method: MethodArg,
    checkpoint: Option<&Path>,
    ctx: impl FnOnce() -> Result<GpuContext>,
) -> Result<Method> {
    match method {
        MethodArg::Fit => {
            let ctx = ctx()?;
            let opts = FitOptions::for_adapter(ctx.is_cpu());
            Ok(Method::Fit(Box::new(FitMethod {
                ctx,
                opts,
                steps: DEFAULT_FIT_STEPS,
            })))
        }
        MethodArg::Telea => Ok(Method::Telea {
            radius: DEFAULT_RADIUS,
        }),
        MethodArg::Pconv => {
            let path = match checkpoint.map(Path::to_path_buf).or_else(bundled_model) {
                Some(p) => p,
                None => bail!(
                    "no model: pass --checkpoint FILE (the bundled model assets/{BUNDLED_MODEL} was not found), or use --method telea"
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
