//! Free-form training masks: brush strokes of varying width with round
//! joints, plus rectangles and elliptic blobs, until a hole ratio drawn
//! uniformly from [min_ratio, max_ratio] is reached. Deterministic per seed.
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::model::SplitMix64;

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

    fn disc(&mut self, cx: f64, cy: f64, r: f64, added: &mut Vec<usize>) {
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

    fn ellipse(&mut self, cx: f64, cy: f64, rx: f64, ry: f64, rect: bool, added: &mut Vec<usize>) {
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

/// Generates one mask of `width` x `height` with a hole ratio aimed at a
/// value drawn uniformly from [min_ratio, max_ratio]. A shape that would
/// overshoot the target by more than 10 % is taken back, so small targets
/// get small shapes and the ratios stay spread over the range (drawing until
/// the target is passed left few masks under 10 % holes). A quarter of the
/// strokes are 1-3 pixels wide: the thin lines of real masks (the paper's
/// test masks at 128², a fine brush) are otherwise never seen in training.
pub fn free_form_mask(
    width: usize,
    height: usize,
    min_ratio: f64,
    max_ratio: f64,
    rng: &mut SplitMix64,
) -> HoleMap {
    let mut m = HoleMap {
        width,
        height,
        holes: vec![false; width * height],
    };
    if width == 0 || height == 0 {
        return m;
    }
    let target = min_ratio + (max_ratio - min_ratio).max(0.0) * rng.uniform();
    let pixels = (width * height) as f64;
    let (target_holes, most_holes) = (target * pixels, target * pixels * 1.1 + 1.0);
    let (w, h) = (width as f64, height as f64);
    let side = w.min(h);
    let (mut holes, mut added) = (0usize, Vec::new());
    let mut shapes = 0;
    while (holes as f64) < target_holes && shapes < 500 {
        shapes += 1;
        added.clear();
        if rng.uniform() < 0.75 {
            // A stroke: a random walk of segments painted with discs.
            let radius = if rng.uniform() < 0.25 {
                0.5 + rng.uniform()
            } else {
                (side * (0.01 + 0.05 * rng.uniform())).max(0.5)
            };
            let (mut x, mut y) = (w * rng.uniform(), h * rng.uniform());
            let mut angle = std::f64::consts::TAU * rng.uniform();
            for _ in 0..(2 + (rng.uniform() * 8.0) as usize) {
                let len = side * (0.05 + 0.25 * rng.uniform());
                angle += (rng.uniform() - 0.5) * 2.5;
                let steps = (len / (radius * 0.5)).ceil().max(1.0) as usize;
                for s in 0..=steps {
                    let t = s as f64 / steps as f64;
                    let (cx, cy) = (x + angle.cos() * len * t, y + angle.sin() * len * t);
                    m.disc(cx, cy, radius, &mut added);
                }
                x = (x + angle.cos() * len).clamp(0.0, w);
                y = (y + angle.sin() * len).clamp(0.0, h);
            }
        } else {
            let (rx, ry) = (
                side * (0.03 + 0.12 * rng.uniform()),
                side * (0.03 + 0.12 * rng.uniform()),
            );
            let (cx, cy, rect) = (w * rng.uniform(), h * rng.uniform(), rng.uniform() < 0.5);
            m.ellipse(cx, cy, rx, ry, rect, &mut added);
        }
        if (holes + added.len()) as f64 > most_holes {
            for &i in &added {
                m.holes[i] = false;
            }
        } else {
            holes += added.len();
        }
    }
    m
}

impl HoleMap {
    /// Reads a mask file per the spec: RGB(A) reduced to 8-bit grey with the
    /// ITU-R 601 luma (rounded, as Pillow does), alpha ignored; a value
    /// >= 128 is a hole.
    pub fn read(path: &Path) -> Result<Self> {
        let img = crate::data::images::decode(path)?;
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
        let img = crate::data::images::decode(path)?;
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

/// Where training masks come from.
#[derive(Clone, Debug)]
pub enum MaskSource {
    /// Free-form masks with hole ratios drawn from [min, max].
    Generated { min_ratio: f64, max_ratio: f64 },
    /// Mask files (white = hole), resized nearest to the training size and
    /// randomly flipped/rotated by 90°.
    Files(Arc<MaskFiles>),
}

/// A folder's mask files and those found unreadable (each reported once,
/// then skipped: a sample whose drawn mask is unreadable takes the next
/// readable file, so its mask still depends only on the seed and the slot).
#[derive(Debug)]
pub struct MaskFiles {
    pub files: Vec<PathBuf>,
    bad: Mutex<HashSet<usize>>,
}

impl MaskFiles {
    pub fn new(files: Vec<PathBuf>) -> Self {
        MaskFiles {
            files,
            bad: Mutex::new(HashSet::new()),
        }
    }

    fn is_bad(&self, i: usize) -> bool {
        self.bad.lock().map(|b| b.contains(&i)).unwrap_or(false)
    }

    /// The first readable mask from `pick` on (cyclically).
    fn read_from(&self, pick: usize) -> Result<HoleMap> {
        let n = self.files.len();
        for i in (0..n).map(|j| (pick + j) % n) {
            if self.is_bad(i) {
                continue;
            }
            match HoleMap::read(&self.files[i]) {
                Ok(m) if m.width > 0 && m.height > 0 => return Ok(m),
                Ok(_) => self.mark_bad(i, "an empty image"),
                Err(e) => self.mark_bad(i, &e.to_string()),
            }
        }
        Err(Error::Invalid(format!(
            "none of the {n} mask files is readable (each was reported above)"
        )))
    }

    fn mark_bad(&self, i: usize, why: &str) {
        if let Ok(mut b) = self.bad.lock() {
            if b.insert(i) {
                eprintln!("skipping unreadable mask: {why}");
            }
        }
    }
}

impl MaskSource {
    /// The default: free-form masks with 1–60 % holes.
    pub const GENERATED: MaskSource = MaskSource::Generated {
        min_ratio: 0.01,
        max_ratio: 0.6,
    };

    /// Every PNG below `dir`; an error when there is none.
    pub fn folder(dir: &Path) -> Result<Self> {
        let files: Vec<PathBuf> = crate::data::images::list_images(dir)?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
            .collect();
        if files.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: no PNG masks found",
                dir.display()
            )));
        }
        Ok(MaskSource::Files(Arc::new(MaskFiles::new(files))))
    }

    /// The mask of training sample `slot` (batch index × batch + position),
    /// `size` x `size`: a function of (seed, slot) only.
    pub fn mask(&self, size: usize, seed: u64, slot: u64) -> Result<HoleMap> {
        self.mask_sized(size, size, seed, slot)
    }

    /// Like `mask` for a `width` x `height` mask (rotations by 90° only
    /// where the mask is square).
    pub fn mask_sized(&self, width: usize, height: usize, seed: u64, slot: u64) -> Result<HoleMap> {
        let mut rng = SplitMix64(seed ^ 0x6D61_736B ^ slot.wrapping_mul(0x9FB2_1C65_1E98_DF25));
        match self {
            MaskSource::Generated {
                min_ratio,
                max_ratio,
            } => {
                // The last shape can overshoot the target: draw again, each
                // time aiming a little lower, so the ratio stays in range.
                let mut m = free_form_mask(width, height, *min_ratio, *max_ratio, &mut rng);
                for k in 1..=20 {
                    if m.ratio() <= *max_ratio {
                        break;
                    }
                    let top = max_ratio - (max_ratio - min_ratio) * k as f64 / 20.0;
                    m = free_form_mask(width, height, *min_ratio, top, &mut rng);
                }
                Ok(m)
            }
            MaskSource::Files(files) => {
                let pick = (rng.next_u64() % files.files.len() as u64) as usize;
                let mut k = rng.next_u64() % 8;
                if width != height {
                    k &= !1;
                }
                let m = files.read_from(pick)?;
                Ok(m.resize_nearest(width, height).transformed(k))
            }
        }
    }
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
