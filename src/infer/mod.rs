//! Inference: filling the holes of an image with the PConv-UNet (GPU) or
//! a classical method (OpenCV's Telea and Navier–Stokes, biharmonic), at any size, and
//! the metrics of `pconv eval`.
pub mod cache;
pub mod classical;
pub mod display;
pub mod edge_blend;
pub mod ensemble;
pub mod eval;
pub mod eval_losses;
pub mod extend;
pub mod fit;
pub mod large;
pub mod pconv;
pub mod quality;

pub use self::classical::Classical;
pub use self::ensemble::Ensemble;
pub use self::pconv::PConvModel;

use crate::error::Result;
use crate::raster::HoleMap;
use crate::raster::Planes;

/// Told (done, total) as a long fill advances: the model's passes over
/// the flips/rotations, the steps of "fit this image".
pub type ProgressFn = Box<dyn FnMut(u64, u64) + Send>;

/// How holes are filled.
pub enum Method {
    PConv(Box<PConvModel>),
    /// Telea or Navier–Stokes as OpenCV computes them, or biharmonic.
    Classical {
        method: Classical,
        radius: usize,
    },
    /// A fresh network fitted to each image.
    Fit(Box<FitMethod>),
}

/// "Fit this image" as a method: `steps` of fitting per image, then the fill.
pub struct FitMethod {
    pub ctx: crate::gpu::GpuContext,
    pub opts: crate::infer::fit::FitOptions,
    pub steps: u64,
    pub progress: Option<ProgressFn>,
}

impl Method {
    /// The prediction for every pixel (the network's I_out, or the
    /// classical fill); callers composite it with the known pixels.
    pub fn predict(&mut self, image: &Planes, holes: &HoleMap) -> Result<Planes> {
        match self {
            Method::PConv(m) => m.predict(image, holes),
            Method::Classical { method, radius } => method.predict(image, holes, *radius),
            Method::Fit(f) => {
                let mut fitter = crate::infer::fit::Fitter::new(&f.ctx, image, holes, f.opts)?;
                for s in 1..=f.steps {
                    fitter.step()?;
                    if let Some(p) = &mut f.progress {
                        p(s, f.steps);
                    }
                }
                PConvModel::new(&f.ctx, fitter.checkpoint()?).predict(image, holes)
            }
        }
    }

    /// Where a long fill reports its progress (the classical methods are
    /// quick and report nothing).
    pub fn set_progress(&mut self, progress: Option<ProgressFn>) {
        match self {
            Method::PConv(m) => m.set_progress(progress),
            Method::Fit(f) => f.progress = progress,
            Method::Classical { .. } => {}
        }
    }

    /// The name, the ensemble where the network averages several passes,
    /// and the band blended with a classical fill: "pconv, ensemble of 2,
    /// blended with biharmonic over 16 px from the edges".
    pub fn label(&self) -> String {
        let mut label = self.name().to_string();
        if let Method::PConv(m) = self {
            if m.ensemble().size() > 1 {
                label += &format!(", ensemble of {}", m.ensemble().size());
            }
            if m.blend_depth() > 1 {
                label += &format!(
                    ", blended with {} over {} px from the edges",
                    m.blend_band().label(),
                    m.blend_depth()
                );
            }
            if let Some(side) = m.net_side() {
                label += &format!(", the network at most {side} px a side");
            }
        }
        label
    }

    pub fn name(&self) -> &'static str {
        match self {
            Method::PConv(_) => "pconv",
            Method::Classical { method, .. } => method.name(),
            Method::Fit(_) => "fit",
        }
    }
}
