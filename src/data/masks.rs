//! Free-form training masks: brush strokes of varying width with round
//! joints, plus rectangles and elliptic blobs, until a hole ratio drawn
//! uniformly from [min_ratio, max_ratio] is reached. Deterministic per seed.
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

    fn disc(&mut self, cx: f64, cy: f64, r: f64) {
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
                    self.holes[y * self.width + x] = true;
                }
            }
        }
    }

    fn ellipse(&mut self, cx: f64, cy: f64, rx: f64, ry: f64, rect: bool) {
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
                    self.holes[y * self.width + x] = true;
                }
            }
        }
    }
}

/// Generates one mask of `width` x `height` with a hole ratio aimed at a
/// value drawn uniformly from [min_ratio, max_ratio].
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
    let (w, h) = (width as f64, height as f64);
    let side = w.min(h);
    let mut shapes = 0;
    while m.ratio() < target && shapes < 500 {
        shapes += 1;
        if rng.uniform() < 0.75 {
            // A stroke: a random walk of segments painted with discs.
            let radius = (side * (0.01 + 0.05 * rng.uniform())).max(0.5);
            let (mut x, mut y) = (w * rng.uniform(), h * rng.uniform());
            let mut angle = std::f64::consts::TAU * rng.uniform();
            for _ in 0..(2 + (rng.uniform() * 8.0) as usize) {
                let len = side * (0.05 + 0.25 * rng.uniform());
                angle += (rng.uniform() - 0.5) * 2.5;
                let steps = (len / (radius * 0.5)).ceil().max(1.0) as usize;
                for s in 0..=steps {
                    let t = s as f64 / steps as f64;
                    m.disc(x + angle.cos() * len * t, y + angle.sin() * len * t, radius);
                }
                x = (x + angle.cos() * len).clamp(0.0, w);
                y = (y + angle.sin() * len).clamp(0.0, h);
            }
        } else {
            let (rx, ry) = (
                side * (0.03 + 0.12 * rng.uniform()),
                side * (0.03 + 0.12 * rng.uniform()),
            );
            m.ellipse(
                w * rng.uniform(),
                h * rng.uniform(),
                rx,
                ry,
                rng.uniform() < 0.5,
            );
        }
    }
    m
}
