//! The network's fill blended with biharmonic inpainting by depth: near a
//! hole's edge the known pixels a few pixels away say nearly everything,
//! and the smoothest surface through them beats a network fill of a 128²
//! face there; deep in a hole the network wins. So each hole pixel d
//! pixels from the nearest known pixel (Euclidean, pixel centres) takes
//!   fill = bh + min(1, (d - 1) / (depth - 1)) · (network - bh),
//! bh the biharmonic fill of the band of hole pixels less than `depth`
//! deep, solved between the known pixels outside and the network's fill
//! deeper in (so its work grows with the holes' edges, not their area,
//! and it bends towards what the network paints). Pixels touching a
//! known pixel (d = 1) take biharmonic alone: there even a small share of
//! the network's colour noise costs more than it brings. The ramp leaves
//! no seam where one gives way to the other. Measured in
//! docs/measurements.md.
use super::classical::biharmonic;
use crate::error::{Error, Result};
use crate::raster::{HoleMap, Planes};

/// The depth, in pixels, over which the fill goes from biharmonic to the
/// network by default. Of 16, 24 and 32 with the face model (×2), PSNR
/// on the held-out faces (two pairings of masks): 31.53 31.50, 31.50
/// 31.42, 31.43 31.35. On scene photos, which the face model was not
/// made for, deeper is better (80 scenes: 24.98, 25.05, 25.08).
pub const DEFAULT_BLEND_DEPTH: usize = 16;

/// Blends `fill` (a prediction for every pixel of `image` with `holes`)
/// with the biharmonic fill of the band less than `depth` deep; 0 leaves
/// it as it is.
pub fn blend_with_biharmonic(
    image: &Planes,
    holes: &HoleMap,
    fill: &mut Planes,
    depth: usize,
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
    let bh = biharmonic::fill(&given, &band)
        .map_err(|e| Error::Invalid(format!("{e}, or --edge-blend 0 (the network alone)")))?;
    for (i, _) in band.iter().enumerate().filter(|(_, &b)| b) {
        // depth ≥ 2 here: every hole pixel is at least 1 deep, and depth 1
        // leaves the band empty.
        let w = (((distance[i] as f64).sqrt() - 1.0) / (depth - 1) as f64) as f32;
        for c in 0..3 {
            let k = c * plane + i;
            fill.data[k] = bh.data[k] + w * (fill.data[k] - bh.data[k]);
        }
    }
    Ok(())
}
