//! Inference: filling the holes of an image with the PConv-UNet (GPU) or
//! Telea's classical method, at any size, and the metrics of `pconv eval`.
pub mod cache;
pub mod eval;
pub mod image;
pub mod large;
pub mod losses;
pub mod metrics;
pub mod pconv;
pub mod telea;

pub use self::image::Planes;
pub use self::pconv::PConvModel;

use crate::data::masks::HoleMap;
use crate::error::Result;

/// How holes are filled.
pub enum Method {
    PConv(Box<PConvModel>),
    Telea { radius: usize },
}

impl Method {
    /// The prediction for every pixel (the network's I_out, or Telea's
    /// result); callers composite it with the known pixels.
    pub fn predict(&mut self, image: &Planes, holes: &HoleMap) -> Result<Planes> {
        match self {
            Method::PConv(m) => m.predict(image, holes),
            Method::Telea { radius } => Ok(telea::telea(image, holes, *radius)),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Method::PConv(_) => "pconv",
            Method::Telea { .. } => "telea",
        }
    }
}
