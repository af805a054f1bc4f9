//! Choosing how holes are filled: a checkpoint, the bundled model, or Telea.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use pconv::gpu::GpuContext;
use pconv::infer::{telea::DEFAULT_RADIUS, Ensemble, FitMethod, Method, PConvModel};
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

/// The `--ensemble` help of `inpaint` and `eval`.
pub const ENSEMBLE_HELP: &str = "How many flips and 90-degree rotations of each image the model fills and averages: 1 (one forward pass), 2 (and its mirror image), 4 (and upside down) or 8 [default: 8 with --method pconv]. Averaging removes much of the network's pixel-scale colour noise; each transform costs one forward pass";

/// The GPU is opened only when the method needs it. `ensemble` applies to
/// the network (default: all 8 transforms).
pub fn load(
    method: MethodArg,
    checkpoint: Option<&Path>,
    ensemble: Option<usize>,
    ctx: impl FnOnce() -> Result<GpuContext>,
) -> Result<Method> {
    if ensemble.is_some() && method != MethodArg::Pconv {
        bail!("--ensemble applies to --method pconv only");
    }
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
            let ck = Checkpoint::read(&path).context("reading the checkpoint")?;
            let ensemble = Ensemble::new(ensemble.unwrap_or(Ensemble::ALL.size()))?;
            let mut model = PConvModel::new(&ctx()?, ck);
            model.set_ensemble(ensemble);
            Ok(Method::PConv(Box::new(model)))
        }
    }
}

pub fn open_gpu() -> Result<GpuContext> {
    GpuContext::new().context("opening the GPU")
}
