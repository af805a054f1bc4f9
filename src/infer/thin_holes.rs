//! Thin holes by Navier–Stokes: a network fill of a 128² face loses to
//! OpenCV's Navier–Stokes where a hole is only a few pixels deep (strokes,
//! scratches: there the known pixels a few pixels away say nearly
//! everything), and wins where holes are deep. So the network fills every
//! hole, then each thin hole region (`HoleMap::thin_regions`) is filled
//! again by Navier–Stokes from the image with the network's fill in the
//! other holes. Measured on the 500 held-out faces, one pass (PSNR per
//! hole-ratio bin, 0.01–0.6): network 37.85 31.57 28.25 26.26 23.61 20.99,
//! OpenCV NS 40.22 32.57 28.58 26.07 23.11 20.15, regions up to 8 px deep
//! by NS 40.32 32.62 28.71 26.34 23.63 20.99 (docs/measurements.md).
use super::classical::{Classical, DEFAULT_RADIUS};
use crate::raster::{HoleMap, Planes};

/// The depth, in pixels, up to which a hole region is filled by
/// Navier–Stokes by default (of 2, 4, 6, 8 and 12 on the held-out faces,
/// 8 was best overall and in 5 of 6 bins).
pub const DEFAULT_THIN_HOLES: usize = 8;

/// Replaces `fill` (a prediction for every pixel of `image` with `holes`)
/// in the hole regions at most `depth` pixels deep by Navier–Stokes.
/// Returns whether there was any such region.
pub fn fill_thin_holes(image: &Planes, holes: &HoleMap, fill: &mut Planes, depth: usize) -> bool {
    let thin = holes.thin_regions(depth);
    if !thin.holes.contains(&true) {
        return false;
    }
    // What Navier–Stokes reads around the thin regions: the known pixels,
    // and the network's fill in the deep holes.
    let plane = image.width * image.height;
    let mut around = image.clone();
    for (i, _) in holes.holes.iter().enumerate().filter(|(_, &h)| h) {
        for c in 0..3 {
            around.data[c * plane + i] = fill.data[c * plane + i];
        }
    }
    let ns = Classical::NavierStokes.predict(&around, &thin, DEFAULT_RADIUS);
    for (i, _) in thin.holes.iter().enumerate().filter(|(_, &h)| h) {
        for c in 0..3 {
            fill.data[c * plane + i] = ns.data[c * plane + i];
        }
    }
    true
}
