//! Hole maps: which pixels are holes, read from mask files (grey or
//! alpha), resized, transformed, grown and shrunk by exact distances.
use std::path::Path;

use crate::error::{Error, Result};

/// A hole map, row-major, `true` = hole (white in a mask PNG).
#[derive(Clone, Debug, PartialEq)]
pub struct HoleMap {
    pub width: usize,
    pub height: usize,
    pub holes: Vec<bool>,
}

impl HoleMap {
    pub fn ratio(&self) -> f64 {
        self.holes.iter().filter(|&&h| h).count() as f64 / self.holes.len().max(1) as f64
    }

    /// The network's mask: 1 = known pixel, 0 = hole.
    pub fn known_mask(&self) -> Vec<f32> {
        self.holes
            .iter()
            .map(|&h| if h { 0.0 } else { 1.0 })
            .collect()
    }

    /// Sets a hole, recording it in `added` if it was known before.
    fn set_hole(&mut self, x: usize, y: usize, added: &mut Vec<usize>) {
        let i = y * self.width + x;
        if !self.holes[i] {
            self.holes[i] = true;
            added.push(i);
        }
    }

    pub(crate) fn disc(&mut self, cx: f64, cy: f64, r: f64, added: &mut Vec<usize>) {
        let (y0, y1) = (
            (cy - r).floor().max(0.0) as usize,
            ((cy + r).ceil().max(0.0) as usize).min(self.height),
        );
        let (x0, x1) = (
            (cx - r).floor().max(0.0) as usize,
            ((cx + r).ceil().max(0.0) as usize).min(self.width),
        );
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                if dx * dx + dy * dy <= r * r {
                    self.set_hole(x, y, added);
                }
            }
        }
    }

    pub(crate) fn ellipse(
        &mut self,
        cx: f64,
        cy: f64,
        rx: f64,
        ry: f64,
        rect: bool,
        added: &mut Vec<usize>,
    ) {
        let (y0, y1) = (
            (cy - ry).max(0.0) as usize,
            ((cy + ry).max(0.0) as usize + 1).min(self.height),
        );
        let (x0, x1) = (
            (cx - rx).max(0.0) as usize,
            ((cx + rx).max(0.0) as usize + 1).min(self.width),
        );
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = ((x as f64 + 0.5 - cx) / rx, (y as f64 + 0.5 - cy) / ry);
                if rect || dx * dx + dy * dy <= 1.0 {
                    self.set_hole(x, y, added);
                }
            }
        }
    }
}

impl HoleMap {
    /// Reads a mask file per the spec: RGB(A) reduced to 8-bit grey with the
    /// ITU-R 601 luma (rounded, as Pillow does), alpha ignored; a value
    /// >= 128 is a hole.
    pub fn read(path: &Path) -> Result<Self> {
        let img = crate::raster::files::decode(path)?;
        Ok(Self::from_image(&img))
    }

    pub fn from_image(img: &image::DynamicImage) -> Self {
        let (width, height) = (img.width() as usize, img.height() as usize);
        let holes = match img {
            image::DynamicImage::ImageLuma8(g) => g.pixels().map(|p| p[0] >= 128).collect(),
            image::DynamicImage::ImageLumaA8(g) => g.pixels().map(|p| p[0] >= 128).collect(),
            other => other
                .to_rgb8()
                .pixels()
                .map(|p| {
                    // ITU-R 601 luma in 16-bit fixed point, rounded, as
                    // Pillow's convert("L") (the reference) computes it.
                    let [r, g, b] = [p[0], p[1], p[2]].map(u32::from);
                    (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16 >= 128
                })
                .collect(),
        };
        HoleMap {
            width,
            height,
            holes,
        }
    }

    /// A mask whose transparent pixels (alpha < 128) are the holes, as
    /// image editors export a selection; None when the image has no
    /// alpha channel.
    pub fn from_alpha(img: &image::DynamicImage) -> Option<Self> {
        if !img.color().has_alpha() {
            return None;
        }
        let rgba = img.to_rgba8();
        Some(HoleMap {
            width: img.width() as usize,
            height: img.height() as usize,
            holes: rgba.pixels().map(|p| p[3] < 128).collect(),
        })
    }

    /// Reads a mask file by `rule`; returns it and whether its
    /// transparency was the rule used. `Auto` takes the transparency when
    /// the grey values mark nothing (all holes or none) and the alpha
    /// channel does (some pixels transparent, some opaque).
    pub fn read_by(path: &Path, rule: MaskRule) -> Result<(Self, bool)> {
        let img = crate::raster::files::decode(path)?;
        let by_alpha = HoleMap::from_alpha(&img);
        let by_grey = Self::from_image(&img);
        match (rule, by_alpha) {
            (MaskRule::Alpha, Some(a)) => Ok((a, true)),
            (MaskRule::Alpha, None) => Err(Error::Invalid(format!(
                "{}: --mask-alpha, but the mask has no transparency (alpha channel)",
                path.display()
            ))),
            (MaskRule::Auto, Some(a)) => {
                let uniform =
                    |m: &HoleMap| m.holes.iter().all(|&h| h) || m.holes.iter().all(|&h| !h);
                if uniform(&by_grey) && !uniform(&a) {
                    Ok((a, true))
                } else {
                    Ok((by_grey, false))
                }
            }
            _ => Ok((by_grey, false)),
        }
    }

    /// The squared Euclidean distance (pixel centres) from every pixel to
    /// the nearest hole (`to` true) or known pixel (false); u64::MAX where
    /// there is none.
    pub fn squared_distances(&self, to: bool) -> Vec<u64> {
        squared_distances(self, to)
    }

    /// White (255) = hole, black (0) = keep.
    pub fn to_image(&self) -> image::GrayImage {
        image::GrayImage::from_fn(self.width as u32, self.height as u32, |x, y| {
            image::Luma([if self.holes[y as usize * self.width + x as usize] {
                255
            } else {
                0
            }])
        })
    }

    /// Nearest-neighbour resize (pixel centres), the only resize a mask gets.
    pub fn resize_nearest(&self, width: usize, height: usize) -> Self {
        let mut holes = Vec::with_capacity(width * height);
        for y in 0..height {
            let sy = ((y as f64 + 0.5) * self.height as f64 / height as f64) as usize;
            for x in 0..width {
                let sx = ((x as f64 + 0.5) * self.width as f64 / width as f64) as usize;
                holes.push(
                    self.holes[sy.min(self.height - 1) * self.width + sx.min(self.width - 1)],
                );
            }
        }
        HoleMap {
            width,
            height,
            holes,
        }
    }

    /// Downscaled to `width` x `height` so that every hole pixel stays a
    /// hole (a thin stroke must not vanish).
    pub fn shrunk(&self, width: usize, height: usize) -> Self {
        let mut holes = vec![false; width * height];
        for y in 0..self.height {
            for x in 0..self.width {
                if self.holes[y * self.width + x] {
                    let (sx, sy) = (x * width / self.width, y * height / self.height);
                    holes[sy.min(height - 1) * width + sx.min(width - 1)] = true;
                }
            }
        }
        HoleMap {
            width,
            height,
            holes,
        }
    }

    /// One of the 8 flips/rotations by 90° (`k` in 0..8, see
    /// `dihedral::source_indices`).
    pub fn transformed(&self, k: u64) -> Self {
        let (width, height) = super::dihedral::size(k, self.width, self.height);
        HoleMap {
            width,
            height,
            holes: super::dihedral::source_indices(k, self.width, self.height)
                .into_iter()
                .map(|i| self.holes[i])
                .collect(),
        }
    }
}

/// How a mask file marks its holes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MaskRule {
    /// Grey values (white = hole), unless they mark nothing and the
    /// transparency does.
    #[default]
    Auto,
    /// Transparent pixels are holes (`--mask-alpha`).
    Alpha,
}

/// The squared Euclidean distance from every pixel to the nearest pixel
/// whose hole flag is `to` (u64::MAX where there is none): the exact
/// two-pass transform of Felzenszwalb and Huttenlocher (2012), linear in
/// the pixels whatever the distances.
pub(crate) fn squared_distances(mask: &HoleMap, to: bool) -> Vec<u64> {
    const FAR: u64 = u64::MAX / 4;
    let (w, h) = (mask.width, mask.height);
    let mut d: Vec<u64> = mask
        .holes
        .iter()
        .map(|&v| if v == to { 0 } else { FAR })
        .collect();
    let mut line = Vec::new();
    for x in 0..w {
        line.clear();
        line.extend((0..h).map(|y| d[y * w + x]));
        for (y, v) in lower_envelope(&line).into_iter().enumerate() {
            d[y * w + x] = v;
        }
    }
    for y in 0..h {
        let row = lower_envelope(&d[y * w..(y + 1) * w]);
        d[y * w..(y + 1) * w].copy_from_slice(&row);
    }
    d.into_iter()
        .map(|v| if v >= FAR { u64::MAX } else { v })
        .collect()
}

/// The 1-D squared-distance transform: min over q of f(q) + (p − q)².
fn lower_envelope(f: &[u64]) -> Vec<u64> {
    const FAR: u64 = u64::MAX / 4;
    let n = f.len();
    let finite: Vec<usize> = (0..n).filter(|&q| f[q] < FAR).collect();
    if finite.is_empty() {
        return vec![FAR; n];
    }
    // Parabolas of the finite samples, and where each begins to be lowest.
    let fx = |q: usize| f[q] as f64 + (q * q) as f64;
    let cross = |q: usize, p: usize| (fx(q) - fx(p)) / (2.0 * (q as f64 - p as f64));
    let mut v: Vec<usize> = Vec::with_capacity(finite.len());
    let mut z: Vec<f64> = Vec::with_capacity(finite.len() + 1);
    for &q in &finite {
        while let (Some(&p), Some(&zk)) = (v.last(), z.last()) {
            if cross(q, p) <= zk {
                v.pop();
                z.pop();
            } else {
                break;
            }
        }
        z.push(match v.last() {
            Some(&p) => cross(q, p),
            None => f64::NEG_INFINITY,
        });
        v.push(q);
    }
    let mut out = Vec::with_capacity(n);
    let mut k = 0;
    for p in 0..n {
        while k + 1 < v.len() && z[k + 1] < p as f64 {
            k += 1;
        }
        let q = v[k];
        let dq = p.abs_diff(q) as u64;
        out.push(f[q] + dq * dq);
    }
    out
}
