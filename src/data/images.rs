//! Training images: every PNG/JPEG/WebP/BMP below a folder, decoded and
//! augmented (a random crop at full resolution, at the crop size or at a
//! random scale, enlarged when smaller; and a horizontal flip) on
//! background threads. Batch i depends only on (seed, i), whatever the
//! thread timing, so a resumed run sees the same batches as an
//! uninterrupted one. Each batch carries its masks, made on the same
//! threads. Unreadable files are reported once and skipped.
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

use crate::data::masks::MaskSource;
use crate::error::{Error, Result};
use crate::model::SplitMix64;
use crate::raster::files::load_rgb;

/// A folder of training images and how many times each of its images
/// comes up per epoch (`--data DIR:K`): a small source oversampled beside
/// a large one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSource {
    pub dir: PathBuf,
    pub repeat: usize,
}

/// The largest `--data DIR:K` weight.
pub const MAX_REPEAT: usize = 1000;

impl DataSource {
    /// Every image of `dir` once per epoch.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DataSource {
            dir: dir.into(),
            repeat: 1,
        }
    }

    /// `DIR` or `DIR:K`, K a whole number from 1 to `MAX_REPEAT`. A name
    /// that exists as a folder is taken whole (a folder called `a:2`).
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        if s.is_empty() {
            return Err("an empty folder name".into());
        }
        let whole = std::path::Path::new(s);
        match s.rsplit_once(':') {
            Some((dir, k))
                if !whole.is_dir()
                    && !dir.is_empty()
                    && !k.is_empty()
                    && k.bytes().all(|b| b.is_ascii_digit()) =>
            {
                let repeat = k.parse::<usize>().unwrap_or(0);
                if !(1..=MAX_REPEAT).contains(&repeat) {
                    return Err(format!(
                        "{s}: the weight after ':' must be 1 to {MAX_REPEAT} (times per epoch), not {k}"
                    ));
                }
                Ok(DataSource {
                    dir: dir.into(),
                    repeat,
                })
            }
            _ => Ok(DataSource::new(s)),
        }
    }
}

/// Every image of every source, in source order, a source's images
/// `repeat` times over (each time sorted, so the list is a function of the
/// folders and the weights); an error naming a source without images or
/// one given twice.
pub fn source_files(sources: &[DataSource]) -> Result<Vec<PathBuf>> {
    if sources.is_empty() {
        return Err(Error::Invalid("no --data folder given".into()));
    }
    let mut seen = Vec::new();
    let mut files = Vec::new();
    for s in sources {
        let real = std::fs::canonicalize(&s.dir).unwrap_or_else(|_| s.dir.clone());
        if seen.contains(&real) {
            return Err(Error::Invalid(format!(
                "{}: given twice as --data (weight one folder with DIR:K instead)",
                s.dir.display()
            )));
        }
        seen.push(real);
        let listed = crate::raster::files::list_images(&s.dir)?;
        for _ in 0..s.repeat.clamp(1, MAX_REPEAT) {
            files.extend(listed.iter().cloned());
        }
    }
    Ok(files)
}

/// `files` without those whose file name is a line of the text file
/// `list` (a held-out evaluation set); an error if none is left.
pub fn without_listed(
    mut files: Vec<PathBuf>,
    list: &Path,
    sources: &[DataSource],
) -> Result<Vec<PathBuf>> {
    let text = crate::io::files::read_text(list, crate::io::files::memory_budget())?;
    let names: HashSet<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    files.retain(|f| {
        f.file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| !names.contains(n))
    });
    if files.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: every image is excluded by {}",
            sources
                .iter()
                .map(|s| s.dir.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            list.display()
        )));
    }
    Ok(files)
}

/// How a training crop is taken from an image of any size. Images smaller
/// than the crop are always enlarged until the short side fits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Crop {
    /// At full resolution (a crop of a detail from a large photo).
    Full,
    /// After resizing so the short side is the crop size: the whole image
    /// at a smaller size (aligned faces).
    Resize,
    /// After resizing so the short side is a random length from `min` to
    /// `max` times the crop size, never above the image's own: photos of
    /// any size seen at the scales they are inpainted at
    /// (`--crop-scale MIN:MAX`).
    Scale { min: f64, max: f64 },
}

/// The largest `--crop-scale` factor.
pub const MAX_CROP_SCALE: f64 = 64.0;

impl Crop {
    /// `MIN:MAX` (or one number for both), 1 <= MIN <= MAX <= 64.
    pub fn parse_scale(s: &str) -> std::result::Result<Crop, String> {
        let (a, b) = s.split_once(':').unwrap_or((s, s));
        let num = |t: &str| {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{s}: expected MIN:MAX, two numbers (e.g. 1:2)"))
        };
        let (min, max) = (num(a)?, num(b)?);
        if !(1.0 <= min && min <= max && max <= MAX_CROP_SCALE) {
            return Err(format!(
                "{s}: the scales must satisfy 1 <= MIN <= MAX <= {MAX_CROP_SCALE} \
                 (times the crop size, for the short side)"
            ));
        }
        Ok(Crop::Scale { min, max })
    }

    /// The form `parse_scale` reads, for `Scale`; None otherwise.
    pub fn scale_text(&self) -> Option<String> {
        match self {
            Crop::Scale { min, max } => Some(format!("{min}:{max}")),
            _ => None,
        }
    }
}

/// What each training sample is.
#[derive(Clone, Debug)]
pub struct BatchSpec {
    pub batch: usize,
    pub size: usize,
    pub crop: Crop,
    pub seed: u64,
    /// The samples of each batch this process loads (a rank's share of a
    /// global batch); None: all.
    pub share: Option<std::ops::Range<usize>>,
}

/// A random size x size crop (taken as `crop` says), flipped horizontally
/// with probability 1/2, as CHW floats in [0, 1].
pub fn augment(img: &image::RgbImage, size: usize, crop: Crop, rng: &mut SplitMix64) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let short = w.min(h).max(1);
    // The short side the crop is taken at.
    let target = match crop {
        Crop::Full => short.max(size),
        Crop::Resize => size,
        Crop::Scale { min, max } => {
            let t = size as f64 * (min + rng.uniform() * (max - min));
            (t.round() as usize).min(short).max(size)
        }
    };
    let resized;
    let src = if target != short {
        let scale = target as f64 / short as f64;
        let (nw, nh) = (
            ((w as f64 * scale).ceil() as u32).max(size as u32),
            ((h as f64 * scale).ceil() as u32).max(size as u32),
        );
        resized = image::imageops::resize(img, nw, nh, image::imageops::FilterType::Triangle);
        &resized
    } else {
        img
    };
    let (w, h) = (src.width() as usize, src.height() as usize);
    let x0 = (rng.uniform() * (w - size + 1) as f64) as usize;
    let y0 = (rng.uniform() * (h - size + 1) as f64) as usize;
    let flip = rng.uniform() < 0.5;
    let mut out = vec![0.0f32; 3 * size * size];
    for y in 0..size {
        for x in 0..size {
            let sx = if flip { x0 + size - 1 - x } else { x0 + x };
            let px = src.get_pixel(sx as u32, (y0 + y) as u32);
            for c in 0..3 {
                out[(c * size + y) * size + x] = px[c] as f32 / 255.0;
            }
        }
    }
    out
}

/// One batch: images [batch, 3, size, size] in [0, 1] and their masks
/// [batch, 1, size, size] (1 = known, 0 = hole).
pub struct Batch {
    pub index: u64,
    pub images: Vec<f32>,
    pub masks: Vec<f32>,
}

/// Produces batches on background threads, in order.
pub struct ImageLoader {
    receivers: Vec<Receiver<Result<Batch>>>,
    first: u64,
    next: u64,
}

struct Shared {
    files: Vec<PathBuf>,
    masks: MaskSource,
    bad: Mutex<HashSet<usize>>,
}

/// Position `j` of the seeded shuffle of epoch `epoch` (Fisher–Yates).
pub fn epoch_order(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut rng = SplitMix64(seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (rng.uniform() * (i + 1) as f64) as usize);
    }
    order
}

fn make_batch(
    shared: &Shared,
    index: u64,
    spec: &BatchSpec,
    cache: &mut Option<(u64, Vec<usize>)>,
) -> Result<Batch> {
    let BatchSpec {
        batch,
        size,
        crop,
        seed,
        share,
    } = spec.clone();
    let n = shared.files.len();
    let share = share.unwrap_or(0..batch);
    let mut images = Vec::with_capacity(share.len() * 3 * size * size);
    for j in share.clone() {
        // Sample j of batch `index` is slot index·batch + j of the seeded
        // order, or the next readable image after it: a function of (seed,
        // index, j) alone, so a rank decodes only its share of the batch.
        let mut slot = index * batch as u64 + j as u64;
        loop {
            // Each pass either adds an image or finds a new unreadable one,
            // so this ends.
            if shared.bad.lock().map(|b| b.len() >= n).unwrap_or(false) {
                return Err(Error::Invalid(format!(
                    "none of the {n} training images is readable (each was reported above)"
                )));
            }
            let epoch = slot / n as u64;
            if cache.as_ref().is_none_or(|(e, _)| *e != epoch) {
                *cache = Some((epoch, epoch_order(n, seed, epoch)));
            }
            let file = cache
                .as_ref()
                .map(|(_, o)| o[(slot % n as u64) as usize])
                .unwrap_or(0);
            slot += 1;
            if shared
                .bad
                .lock()
                .map(|b| b.contains(&file))
                .unwrap_or(false)
            {
                continue;
            }
            match load_rgb(&shared.files[file]) {
                Ok(img) if img.width() > 0 && img.height() > 0 => {
                    let mut rng =
                        SplitMix64(seed ^ 0xA5A5_5A5A ^ (slot.wrapping_mul(0xD1B5_4A32_D192_ED03)));
                    images.extend(augment(&img, size, crop, &mut rng));
                    break;
                }
                other => {
                    let why = match other {
                        Err(e) => e.to_string(),
                        Ok(_) => format!("{}: an empty image", shared.files[file].display()),
                    };
                    if let Ok(mut b) = shared.bad.lock() {
                        if b.insert(file) {
                            eprintln!("skipping unreadable image: {why}");
                        }
                    }
                }
            }
        }
    }
    let mut masks = Vec::with_capacity(share.len() * size * size);
    for b in share {
        masks.extend(
            shared
                .masks
                .mask(size, seed, index * batch as u64 + b as u64)?
                .known_mask(),
        );
    }
    Ok(Batch {
        index,
        images,
        masks,
    })
}

impl ImageLoader {
    /// Starts `workers` threads producing batches `first`, `first + 1`, ….
    pub fn start(
        files: Vec<PathBuf>,
        masks: MaskSource,
        spec: BatchSpec,
        first: u64,
        workers: usize,
    ) -> Self {
        let workers = workers.max(1);
        let shared = Arc::new(Shared {
            files,
            masks,
            bad: Mutex::new(HashSet::new()),
        });
        let mut receivers = Vec::new();
        for w in 0..workers {
            let (tx, rx) = sync_channel(2);
            let shared = shared.clone();
            let spec = spec.clone();
            std::thread::spawn(move || {
                let mut cache = None;
                let mut index = first + w as u64;
                loop {
                    let b = make_batch(&shared, index, &spec, &mut cache);
                    let failed = b.is_err();
                    if tx.send(b).is_err() || failed {
                        break;
                    }
                    index += workers as u64;
                }
            });
            receivers.push(rx);
        }
        ImageLoader {
            receivers,
            first,
            next: first,
        }
    }

    /// The next batch, in order.
    pub fn next_batch(&mut self) -> Result<Batch> {
        // Worker w makes batches first + w, first + w + workers, ….
        let rx = &self.receivers[((self.next - self.first) % self.receivers.len() as u64) as usize];
        let b = rx
            .recv()
            .map_err(|_| Error::Invalid("the image loader stopped".into()))??;
        self.next += 1;
        Ok(b)
    }
}
