//! The network's fill blended with a classical fill by depth: near a
//! hole's edge the known pixels a few pixels away say nearly everything,
//! and a classical fill from them beats a network fill there (of a 128²
//! face, or of a photo the face model was not made for); deep in a hole
//! the network wins. So each hole pixel d pixels from the nearest known
//! pixel (Euclidean, pixel centres) takes
//!   fill = band + min(1, (d - 1) / (depth - 1)) · (network - band),
//! band the classical fill (biharmonic, or FSR on photos) of the hole
//! pixels less than `depth` deep, made between the known pixels outside
//! and the network's fill deeper in (so its work grows with the holes'
//! edges, not their area, and it bends towards what the network paints).
//! Pixels touching a known pixel (d = 1) take the classical fill alone:
//! there even a small share of the network's colour noise costs more
//! than it brings. The ramp leaves no seam where one gives way to the
//! other. Measured in docs/measurements.md.
use super::classical::{biharmonic, Classical};
use crate::error::{Error, Result};
use crate::raster::{HoleMap, Planes};

/// The depth, in pixels, over which the fill goes from biharmonic to the
/// network by default. Of 16, 24 and 32 with the face model (×2), PSNR
/// on the held-out faces (two pairings of masks): 31.53 31.50, 31.50
/// 31.42, 31.43 31.35. On scene photos, which the face model was not
/// made for, deeper is better (80 scenes: 24.98, 25.05, 25.08).
pub const DEFAULT_BLEND_DEPTH: usize = 16;

/// The depth for the FSR band. With the face model (×2) on the 80 scenes
/// (256²), PSNR at 24, 32 and 48: 25.80, 25.84, 25.81; CUrban100 at 32
/// and 48: 23.68 and 23.68.
pub const FSR_BLEND_DEPTH: usize = 32;

/// What the network's fill is blended with near the holes' edges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EdgeBand {
    /// Biharmonic inpainting of the band, between the known pixels and
    /// the network's fill deeper in.
    #[default]
    Biharmonic,
    /// opencv-contrib's frequency selective reconstruction of the band,
    /// the network's fill deeper in taken as known. On photos it beats
    /// biharmonic's band (the face model ×2 on the 80 scenes: 25.84
    /// against 25.18 dB) and FSR alone (25.45); on faces biharmonic's is
    /// better (docs/measurements.md).
    Fsr,
}

impl EdgeBand {
    /// The depth it was measured best at.
    pub fn default_depth(self) -> usize {
        match self {
            EdgeBand::Biharmonic => DEFAULT_BLEND_DEPTH,
            EdgeBand::Fsr => FSR_BLEND_DEPTH,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EdgeBand::Biharmonic => "biharmonic",
            EdgeBand::Fsr => "FSR",
        }
    }
}

/// Blends `fill` (a prediction for every pixel of `image` with `holes`)
/// with the band's fill over the pixels less than `depth` deep; 0 leaves
/// it as it is.
pub fn blend(
    image: &Planes,
    holes: &HoleMap,
    fill: &mut Planes,
    depth: usize,
    with: EdgeBand,
) -> Result<()> {
    if depth == 0 || !holes.holes.contains(&true) {
        return Ok(());
    }
    let distance = holes.squared_distances(false);
    let plane = image.width * image.height;
    let deep = (depth * depth) as u64;
    let mut given = image.clone();
    let mut band = vec![false; plane];
    for (i, _) in holes.holes.iter().enumerate().filter(|(_, &h)| h) {
        band[i] = distance[i] < deep;
        for c in 0..3 {
            given.data[c * plane + i] = fill.data[c * plane + i];
        }
    }
    let edge = match with {
        EdgeBand::Biharmonic => biharmonic::fill(&given, &band)
            .map_err(|e| Error::Invalid(format!("{e}, or --edge-blend 0 (the network alone)")))?,
        EdgeBand::Fsr => {
            let band = HoleMap {
                width: image.width,
                height: image.height,
                holes: band.clone(),
            };
            Classical::Fsr.predict(&given, &band, 0)?
        }
    };
    for (i, _) in band.iter().enumerate().filter(|(_, &b)| b) {
        // depth ≥ 2 here: every hole pixel is at least 1 deep, and depth 1
        // leaves the band empty.
        let w = (((distance[i] as f64).sqrt() - 1.0) / (depth - 1) as f64) as f32;
        for c in 0..3 {
            let k = c * plane + i;
            fill.data[k] = edge.data[k] + w * (fill.data[k] - edge.data[k]);
        }
    }
    Ok(())
}
