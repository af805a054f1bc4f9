//! Sample grids: one row per image (up to 4), columns masked input (holes
//! white) | output | composite | ground truth.
use image::{Rgb, RgbImage};

use crate::raster::planes::to_u8;

const GAP: u32 = 2;

/// `images`/`outputs` are [n, 3, h, w], `masks` [n, 1, h, w] (1 = known).
pub fn sample_grid(
    images: &[f32],
    masks: &[f32],
    outputs: &[f32],
    h: usize,
    w: usize,
    rows: usize,
) -> RgbImage {
    let n = (images.len() / (3 * h * w)).min(rows).max(1);
    let (cw, ch) = (w as u32, h as u32);
    let mut grid = RgbImage::from_pixel(
        4 * cw + 3 * GAP,
        n as u32 * ch + (n as u32 - 1) * GAP,
        Rgb([40, 40, 40]),
    );
    for i in 0..n {
        for y in 0..h {
            for x in 0..w {
                let m = masks[(i * h + y) * w + x];
                let px = |src: &[f32], c: usize| src[((i * 3 + c) * h + y) * w + x];
                let gt = [px(images, 0), px(images, 1), px(images, 2)];
                let out = [px(outputs, 0), px(outputs, 1), px(outputs, 2)];
                let masked = gt.map(|v| if m > 0.5 { v } else { 1.0 });
                let comp = [0, 1, 2].map(|c| m * gt[c] + (1.0 - m) * out[c]);
                for (col, v) in [masked, out, comp, gt].iter().enumerate() {
                    grid.put_pixel(
                        col as u32 * (cw + GAP) + x as u32,
                        i as u32 * (ch + GAP) + y as u32,
                        Rgb(v.map(to_u8)),
                    );
                }
            }
        }
    }
    grid
}
