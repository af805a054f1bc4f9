//! `pconv eval`: image/mask pairing, per-image metrics and losses, the
//! paper's table by hole-ratio bin, and its JSON form.
use std::path::{Path, PathBuf};

use image::RgbImage;

use super::eval_losses::LossEvaluator;
use super::quality::{l1, psnr, ssim};
use super::Method;
use crate::error::Result;
use crate::loss::LossTerms;
use crate::raster::files::{list_images, load_rgb};
use crate::raster::planes::{composite, Planes};
use crate::raster::HoleMap;

/// The paper's hole-ratio bins.
pub const BINS: [(f64, f64); 6] = [
    (0.01, 0.1),
    (0.1, 0.2),
    (0.2, 0.3),
    (0.3, 0.4),
    (0.4, 0.5),
    (0.5, 0.6),
];

#[derive(Clone, Debug)]
pub struct ImageResult {
    pub image: PathBuf,
    pub mask: PathBuf,
    pub hole_ratio: f64,
    pub l1: f64,
    pub psnr: f64,
    pub ssim: f64,
    pub losses: Option<LossTerms<f64>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BinResult {
    /// None for the row of all images.
    pub range: Option<(f64, f64)>,
    pub count: usize,
    pub l1: f64,
    pub psnr: f64,
    pub ssim: f64,
}

/// A file, or every image below a folder (sorted).
pub fn files_of(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_dir() {
        list_images(path)
    } else if path.exists() {
        Ok(vec![path.to_path_buf()])
    } else {
        Err(crate::Error::Invalid(format!(
            "{}: not found",
            path.display()
        )))
    }
}

/// Each image with the mask of the same file stem if there is one, else
/// the sorted masks in turn.
pub fn pair(images: &[PathBuf], masks: &[PathBuf]) -> Vec<(PathBuf, PathBuf)> {
    let stem = |p: &PathBuf| p.file_stem().map(|s| s.to_os_string());
    images
        .iter()
        .enumerate()
        .filter(|_| !masks.is_empty())
        .map(|(i, img)| {
            let m = masks
                .iter()
                .find(|m| stem(m) == stem(img))
                .unwrap_or(&masks[i % masks.len()]);
            (img.clone(), m.clone())
        })
        .collect()
}

/// Center square crop resized to `size` x `size`.
pub fn square(img: &RgbImage, size: usize) -> RgbImage {
    let (w, h) = (img.width(), img.height());
    let s = w.min(h);
    let crop = image::imageops::crop_imm(img, (w - s) / 2, (h - s) / 2, s, s).to_image();
    if s as usize == size {
        crop
    } else {
        image::imageops::resize(
            &crop,
            size as u32,
            size as u32,
            image::imageops::FilterType::Triangle,
        )
    }
}

/// Evaluates one pair: the image (optionally squared to `size`), its mask
/// resized nearest to it, the method's composite against the image.
pub fn evaluate_pair(
    method: &mut Method,
    losses: Option<&mut LossEvaluator>,
    image_path: &Path,
    mask_path: &Path,
    size: Option<usize>,
) -> Result<ImageResult> {
    let mut img = load_rgb(image_path)?;
    if let Some(s) = size {
        img = square(&img, s);
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let holes = HoleMap::read(mask_path)?.resize_nearest(w, h);
    let planes = Planes::from_rgb(&img);
    let pred = method.predict(&planes, &holes)?;
    let comp = composite(&img, &pred, &holes);
    let losses = match losses {
        Some(ev) => Some(ev.losses(&pred, &planes, &holes)?),
        None => None,
    };
    Ok(ImageResult {
        image: image_path.to_path_buf(),
        mask: mask_path.to_path_buf(),
        hole_ratio: holes.ratio(),
        l1: l1(&comp, &img),
        psnr: psnr(&comp, &img),
        ssim: ssim(&comp, &img),
        losses,
    })
}

fn mean(rows: &[&ImageResult], f: impl Fn(&ImageResult) -> f64) -> f64 {
    rows.iter().map(|r| f(r)).sum::<f64>() / rows.len().max(1) as f64
}

/// One row per bin (ratio in (lo, hi]) and a last row of all images.
pub fn bins(results: &[ImageResult]) -> Vec<BinResult> {
    let row = |range: Option<(f64, f64)>| {
        let rows: Vec<&ImageResult> = results
            .iter()
            .filter(|r| range.is_none_or(|(lo, hi)| r.hole_ratio > lo && r.hole_ratio <= hi))
            .collect();
        BinResult {
            range,
            count: rows.len(),
            l1: mean(&rows, |r| r.l1),
            psnr: mean(&rows, |r| r.psnr),
            ssim: mean(&rows, |r| r.ssim),
        }
    };
    BINS.iter()
        .map(|&b| row(Some(b)))
        .chain([row(None)])
        .collect()
}

/// The paper's table (L1 in %).
pub fn table(bins: &[BinResult]) -> String {
    let mut s = format!(
        "{:<14} {:>7} {:>9} {:>10} {:>8}\n",
        "hole ratio", "images", "L1 (%)", "PSNR (dB)", "SSIM"
    );
    for b in bins {
        let name = match b.range {
            Some((lo, hi)) => format!("({lo}, {hi}]"),
            None => "all".into(),
        };
        if b.count == 0 {
            s += &format!("{name:<14} {:>7} {:>9} {:>10} {:>8}\n", 0, "-", "-", "-");
        } else {
            s += &format!(
                "{name:<14} {:>7} {:>9.2} {:>10.2} {:>8.4}\n",
                b.count,
                100.0 * b.l1,
                b.psnr,
                b.ssim
            );
        }
    }
    s
}

/// `{"images": [...], "bins": [...]}` with the field names of the issue.
pub fn to_json(results: &[ImageResult], bins: &[BinResult]) -> serde_json::Value {
    use serde_json::json;
    let images: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let mut o = json!({
                "image": r.image.display().to_string(),
                "mask": r.mask.display().to_string(),
                "hole_ratio": r.hole_ratio,
                "l1": r.l1,
                "psnr": r.psnr,
                "ssim": r.ssim,
            });
            if let Some(l) = r.losses {
                let terms: serde_json::Map<String, serde_json::Value> = l
                    .named()
                    .iter()
                    .map(|(n, v)| (n.to_string(), json!(v)))
                    .collect();
                o["losses"] = serde_json::Value::Object(terms);
            }
            o
        })
        .collect();
    let bins: Vec<serde_json::Value> = bins
        .iter()
        .map(|b| {
            let (lo, hi) = b.range.unwrap_or((0.0, 1.0));
            // An empty bin has no mean: null.
            let v = |x: f64| (b.count > 0).then_some(x);
            json!({"range": [lo, hi], "count": b.count, "l1": v(b.l1), "psnr": v(b.psnr), "ssim": v(b.ssim)})
        })
        .collect();
    json!({"images": images, "bins": bins})
}
