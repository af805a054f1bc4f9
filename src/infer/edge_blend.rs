//! The network's fill blended with Navier–Stokes by depth: near a hole's
//! edge the known pixels a few pixels away say nearly everything, and
//! OpenCV's Navier–Stokes beats a network fill of a 128² face there; deep
//! in a hole the network wins. So each hole pixel d pixels from the
//! nearest known pixel (Euclidean, pixel centres) takes
//!   fill = ns + min(1, d / depth) · (network - ns),
//! Navier–Stokes (radius 1) run on the hole from the known pixels. The
//! ramp also leaves no seam where one gives way to the other. Measured on
//! the 500 held-out faces, one pass (PSNR per hole-ratio bin, 0.01–0.6):
//! network 37.85 31.57 28.25 26.26 23.61 20.99, OpenCV NS 40.23 32.57 28.58
//! 26.07 23.11 20.15, blended over 8 px 40.77 33.28 29.53 27.18 24.24 21.20
//! with NS at radius 3 (docs/measurements.md; it replaced filling whole
//! thin regions by NS, 40.32 32.62 28.71 26.34 23.63 20.99).
use super::classical::Classical;
use crate::raster::{HoleMap, Planes};

/// The depth, in pixels, over which the fill goes from Navier–Stokes to
/// the network by default (of 4, 6, 8, 10, 12 and 16 on the held-out
/// faces, 8 was best overall; 6–12 are within 0.1 dB).
pub const DEFAULT_BLEND_DEPTH: usize = 8;

/// Navier–Stokes' neighbourhood radius in the blend. Radius 1 follows the
/// edge's last pixels more closely than OpenCV's default 3 and wins where
/// the blend uses it, the first pixels into a hole: with the mirror-image
/// ensemble, 29.84 against 29.58 dB on the held-out faces (+0.46 on the
/// smallest holes), 29.82 against 29.56 on a second pairing with other
/// masks, and 24.65 against 24.59 on the 80 scene photos; radius 2 was
/// between them (docs/measurements.md).
pub const BLEND_NS_RADIUS: usize = 1;

/// Blends `fill` (a prediction for every pixel of `image` with `holes`)
/// with Navier–Stokes in the holes, by depth over `depth` pixels; 0
/// leaves it as it is.
pub fn blend_with_navier_stokes(image: &Planes, holes: &HoleMap, fill: &mut Planes, depth: usize) {
    if depth == 0 || !holes.holes.contains(&true) {
        return;
    }
    let distance = holes.squared_distances(false);
    // Navier–Stokes only as deep as the blend reads it: the fast march's
    // arrival is at most the 4-neighbour path length, at most √2 times the
    // Euclidean distance, so every pixel less than `depth` deep is filled.
    let until = 1.5 * depth as f32 + 2.0;
    let ns = Classical::NavierStokes.predict_until(image, holes, BLEND_NS_RADIUS, until);
    let plane = image.width * image.height;
    for (i, _) in holes.holes.iter().enumerate().filter(|(_, &h)| h) {
        // No known pixel at all: the network alone.
        let w = ((distance[i] as f64).sqrt() / depth as f64).min(1.0) as f32;
        for c in 0..3 {
            let k = c * plane + i;
            fill.data[k] = ns.data[k] + w * (fill.data[k] - ns.data[k]);
        }
    }
}
