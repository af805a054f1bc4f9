//! Choosing how holes are filled: a checkpoint, the bundled model, or a
//! classical method (OpenCV's Telea, Navier–Stokes or FSR, or
//! biharmonic).
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use pconv::gpu::GpuContext;
use pconv::infer::edge_blend::EdgeBand;
use pconv::infer::fit::FitOptions;
use pconv::infer::{classical::DEFAULT_RADIUS, Classical, Ensemble, FitMethod, Method, PConvModel};
use pconv::model::Checkpoint;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// The PConv-UNet (--model, or the bundled face model).
    #[default]
    Pconv,
    /// Telea's fast-marching inpainting (2004), exactly as OpenCV's
    /// INPAINT_TELEA.
    Telea,
    /// Navier–Stokes-inspired inpainting (Bertalmío et al. 2001), exactly
    /// as OpenCV's INPAINT_NS.
    Ns,
    /// Biharmonic inpainting (Damelin & Hoang 2018): the smoothest surface
    /// through the known pixels, as scikit-image's inpaint_biharmonic.
    Biharmonic,
    /// Frequency selective reconstruction (Seiler et al. 2015): each block
    /// and its surroundings modelled as a sum of Fourier basis functions,
    /// exactly as opencv-contrib's xphoto INPAINT_FSR_FAST. The strongest
    /// classical method on photos but for fsr-best.
    Fsr,
    /// FSR as opencv-contrib's INPAINT_FSR_BEST: larger windows, smaller
    /// blocks, more basis functions; about 20 times the time of fsr.
    FsrBest,
    /// "Fit this image": train a small fresh network on each image itself
    /// (its known pixels under random masks) for --fit-steps, then fill it.
    Fit,
}

/// Steps of `--method fit` per image.
pub const DEFAULT_FIT_STEPS: u64 = 200;

/// A file under `assets/` (see `pconv::io::assets`).
pub fn asset(rel: &str) -> Option<PathBuf> {
    pconv::io::assets::find(rel)
}

/// The default bundled model (see assets/models/README.md), where this
/// install has it.
pub fn bundled_model() -> Option<PathBuf> {
    pconv::model::bundled::default_model().path()
}

/// The `--model` help of `inpaint`, `eval` and the app.
pub const MODEL_HELP: &str = "The model: a bundled one by name (face; `pconv models` lists them) or a checkpoint file [default: face]";

/// The `--ensemble` help of `inpaint` and `eval`.
pub const ENSEMBLE_HELP: &str = "How many flips and 90-degree rotations of each image the model fills and averages: 1 (one forward pass), 2 (and its mirror image), 4 (and upside down) or 8 [default: 2 with --method pconv]. Averaging removes much of the network's pixel-scale colour noise; each transform costs one forward pass. Models are trained with mirror images only: on the face model, 2 beats 8";

/// The `--radius` help of `inpaint` and `eval`.
pub const RADIUS_HELP: &str = "Neighbourhood radius in pixels of --method telea and ns, as OpenCV's inpaintRadius (1 to 100) [default: 3]";

/// The `--edge-blend` help of `inpaint` and `eval`.
pub const EDGE_BLEND_HELP: &str = "With --method pconv, each hole pixel's fill goes from a classical fill at the hole's edge (--edge-band; it beats the network next to known pixels) to the network's at this many pixels deep and beyond; 0 or 1: the network alone [default: 16 with --edge-band faces and biharmonic, 32 with photos and fsr]";

/// The `--edge-band` help of `inpaint` and `eval`.
pub const EDGE_BAND_HELP: &str = "With --method pconv, the classical fill the network's is blended with near the holes' edges (--edge-blend): faces (70 % biharmonic, 30 % FSR, 16 px), photos (15 % biharmonic, 85 % FSR, 32 px: with the face model 26.02 against 25.49 dB for faces' on 80 scenes), or biharmonic or fsr alone [default: faces]";

/// The classical fill the network's is blended with near the edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EdgeBandArg {
    Faces,
    Photos,
    Biharmonic,
    Fsr,
}

impl EdgeBandArg {
    pub fn band(self) -> EdgeBand {
        match self {
            EdgeBandArg::Faces => EdgeBand::Faces,
            EdgeBandArg::Photos => EdgeBand::Photos,
            EdgeBandArg::Biharmonic => EdgeBand::Biharmonic,
            EdgeBandArg::Fsr => EdgeBand::Fsr,
        }
    }
}

/// The `--net-side` help of `inpaint` and `eval`.
pub const NET_SIDE_HELP: &str = "With --method pconv, the longest side the network works at: a larger image (or crop, see --max-side) is downscaled to it for the network, from its known pixels alone, and the network's fill upscaled; known pixels and the edge blend stay at full size. 0: the image's own size [default: the largest scale the model was trained at: its crop size times its --crop-scale maximum, 128 for the face model]";

/// How a method runs: the network's ensemble, the classical radius, the
/// depth over which the network takes over from biharmonic inpainting,
/// the side the network works at (Some(0): the image's own).
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub ensemble: Option<usize>,
    pub radius: Option<usize>,
    pub edge_blend: Option<usize>,
    pub edge_band: Option<EdgeBandArg>,
    pub net_side: Option<usize>,
}

/// The GPU is opened only when the method needs it. `ensemble` applies to
/// the network (default: the image and its mirror image), `radius` to the classical
/// methods.
pub fn load(
    method: MethodArg,
    model: Option<&str>,
    options: Options,
    ctx: impl FnOnce() -> Result<GpuContext>,
) -> Result<Method> {
    let Options {
        ensemble,
        radius,
        edge_blend,
        edge_band,
        net_side,
    } = options;
    if ensemble.is_some() && method != MethodArg::Pconv {
        bail!("--ensemble applies to --method pconv only");
    }
    if edge_blend.is_some() && method != MethodArg::Pconv {
        bail!("--edge-blend applies to --method pconv only");
    }
    if edge_band.is_some() && method != MethodArg::Pconv {
        bail!("--edge-band applies to --method pconv only");
    }
    if net_side.is_some() && method != MethodArg::Pconv {
        bail!("--net-side applies to --method pconv only");
    }
    if radius.is_some() && !matches!(method, MethodArg::Telea | MethodArg::Ns) {
        bail!("--radius applies to --method telea and ns only");
    }
    let classical = |method| {
        Ok(Method::Classical {
            method,
            radius: radius.unwrap_or(DEFAULT_RADIUS),
        })
    };
    match method {
        MethodArg::Telea => classical(Classical::Telea),
        MethodArg::Ns => classical(Classical::NavierStokes),
        MethodArg::Biharmonic => classical(Classical::Biharmonic),
        MethodArg::Fsr => classical(Classical::Fsr),
        MethodArg::FsrBest => classical(Classical::FsrBest),
        MethodArg::Fit => {
            let ctx = ctx()?;
            let opts = FitOptions::for_adapter(ctx.is_cpu());
            Ok(Method::Fit(Box::new(FitMethod {
                ctx,
                opts,
                steps: DEFAULT_FIT_STEPS,
                progress: None,
            })))
        }
        MethodArg::Pconv => {
            let path = match model {
                Some(spec) => pconv::model::bundled::resolve(spec)?,
                None => match bundled_model() {
                    Some(p) => p,
                    None => bail!(
                        "no model: pass --model FILE (the bundled face model is not in this install), or use --method telea"
                    ),
                },
            };
            let ck = Checkpoint::read(&path)
                .context("reading the checkpoint")?
                .for_inference();
            let ensemble = Ensemble::new(ensemble.unwrap_or(Ensemble::MIRROR.size()))?;
            let mut model = PConvModel::new(&ctx()?, ck);
            if let Some(side) = net_side {
                model.set_net_side((side > 0).then_some(side));
            }
            model.set_ensemble(ensemble);
            let band = edge_band.map(EdgeBandArg::band).unwrap_or_default();
            model.set_blend_depth(edge_blend.unwrap_or(band.default_depth()));
            model.set_blend_band(band);
            Ok(Method::PConv(Box::new(model)))
        }
    }
}

pub fn open_gpu() -> Result<GpuContext> {
    GpuContext::new().context("opening the GPU")
}
