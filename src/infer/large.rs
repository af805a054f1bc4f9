//! Inpainting an image of any size. Images up to `max_side` run
//! whole. Larger ones run on a crop around the holes' bounding box with a
//! margin (IOPaint's crop strategy); when even that crop is larger than
//! `max_side`, it is downscaled for the network from its known pixels
//! alone (what the holes hold never tints the fill) and the prediction
//! upscaled again, and only hole pixels take it. Known pixels always keep
//! their input values, bit for bit.
use image::RgbImage;

use super::Method;
use crate::error::Result;
use crate::raster::planes::{composite_planes, Planes};
use crate::raster::HoleMap;

/// Context kept around the holes: half the box's longer side, at least 32 px.
fn margin(box_w: usize, box_h: usize) -> usize {
    (box_w.max(box_h) / 2).max(32)
}

/// The holes' bounding box (x0, y0, x1, y1), exclusive ends.
pub fn hole_box(holes: &HoleMap) -> Option<(usize, usize, usize, usize)> {
    let mut b: Option<(usize, usize, usize, usize)> = None;
    for y in 0..holes.height {
        for x in 0..holes.width {
            if holes.holes[y * holes.width + x] {
                b = Some(match b {
                    None => (x, y, x + 1, y + 1),
                    Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1)),
                });
            }
        }
    }
    b
}

fn crop_holes(holes: &HoleMap, x0: usize, y0: usize, w: usize, h: usize) -> HoleMap {
    let mut out = Vec::with_capacity(w * h);
    for y in y0..y0 + h {
        out.extend_from_slice(&holes.holes[y * holes.width + x0..y * holes.width + x0 + w]);
    }
    HoleMap {
        width: w,
        height: h,
        holes: out,
    }
}

/// Inpaints `input` (any size) and returns the composite.
pub fn inpaint(
    method: &mut Method,
    input: &RgbImage,
    holes: &HoleMap,
    max_side: usize,
) -> Result<RgbImage> {
    inpaint_feathered(method, input, holes, max_side, 0)
}

/// `inpaint` with the composite's edge feathered over `feather` pixels
/// (`composite_feathered`).
pub fn inpaint_feathered(
    method: &mut Method,
    input: &RgbImage,
    holes: &HoleMap,
    max_side: usize,
    feather: usize,
) -> Result<RgbImage> {
    Ok(inpaint_planes(method, &Planes::from_rgb(input), holes, max_side, feather)?.to_rgb())
}

/// `inpaint_feathered` for an image of any depth as f32 planes: known
/// pixels beyond the feathered edge keep their values bit for bit.
pub fn inpaint_planes(
    method: &mut Method,
    input: &Planes,
    holes: &HoleMap,
    max_side: usize,
    feather: usize,
) -> Result<Planes> {
    let (w, h) = (input.width, input.height);
    if w.max(h) <= max_side {
        let pred = method.predict(input, holes)?;
        return Ok(composite_planes(input, &pred, holes, feather));
    }
    let Some((bx0, by0, bx1, by1)) = hole_box(holes) else {
        return Ok(input.clone());
    };
    let m = margin(bx1 - bx0, by1 - by0).max(feather + 1);
    let (x0, y0) = (bx0.saturating_sub(m), by0.saturating_sub(m));
    let (x1, y1) = ((bx1 + m).min(w), (by1 + m).min(h));
    let (cw, ch) = (x1 - x0, y1 - y0);
    let crop = input.region(x0, y0, cw, ch);
    let crop_holes = crop_holes(holes, x0, y0, cw, ch);
    let pred = if cw.max(ch) <= max_side {
        method.predict(&crop, &crop_holes)?
    } else {
        let s = max_side as f64 / cw.max(ch) as f64;
        let (sw, sh) = (
            ((cw as f64 * s).round() as usize).max(1),
            ((ch as f64 * s).round() as usize).max(1),
        );
        let (small, small_holes) = crop.shrunk_from_known(&crop_holes, sw, sh);
        method.predict(&small, &small_holes)?.resized(cw, ch)
    };
    let filled = composite_planes(&crop, &pred, &crop_holes, feather);
    let mut out = input.clone();
    out.paste(&filled, x0, y0);
    Ok(out)
}
