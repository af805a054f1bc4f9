//! Free-form training masks: brush strokes of varying width with round
//! joints, plus rectangles and elliptic blobs, until a hole ratio drawn
//! uniformly from [min_ratio, max_ratio] is reached. Deterministic per seed.
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::model::SplitMix64;
use crate::raster::HoleMap;

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
        Self::folder_except(dir, None)
    }

    /// Every PNG below `dir` but outside `skip` (a run folder inside it,
    /// whose sample grids are not masks); an error when there is none.
    pub fn folder_except(dir: &Path, skip: Option<&Path>) -> Result<Self> {
        let files: Vec<PathBuf> = crate::raster::files::list_images(dir)?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
            .filter(|p| skip.is_none_or(|s| !crate::io::files::is_below(p, s)))
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
