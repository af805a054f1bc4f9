//! The paper's evaluation metrics on 8-bit images (what users get), values
//! scaled to [0, 1]: L1 (mean absolute error over every pixel and channel),
//! PSNR, and SSIM per RGB channel (11x11 Gaussian window, σ = 1.5, the
//! windows that fit inside the image, averaged over channels), as in Wang
//! et al. 2004.
use image::RgbImage;

/// PSNR of identical images is infinite; it is reported as this.
pub const PSNR_CAP_DB: f64 = 100.0;

fn values(img: &RgbImage) -> impl Iterator<Item = f64> + '_ {
    img.as_raw().iter().map(|&v| v as f64 / 255.0)
}

pub fn l1(a: &RgbImage, b: &RgbImage) -> f64 {
    let n = a.as_raw().len().max(1) as f64;
    values(a)
        .zip(values(b))
        .map(|(x, y)| (x - y).abs())
        .sum::<f64>()
        / n
}

pub fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    let n = a.as_raw().len().max(1) as f64;
    let mse = values(a)
        .zip(values(b))
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        / n;
    if mse <= 0.0 {
        PSNR_CAP_DB
    } else {
        (10.0 * (1.0 / mse).log10()).min(PSNR_CAP_DB)
    }
}

fn gaussian_window(size: usize, sigma: f64) -> Vec<f64> {
    let c = (size as f64 - 1.0) / 2.0;
    let g: Vec<f64> = (0..size)
        .map(|i| (-((i as f64 - c).powi(2)) / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f64 = g.iter().sum();
    g.into_iter().map(|v| v / s).collect()
}

/// Separable 'valid' filtering of a plane with a 1-D kernel.
fn filter_valid(p: &[f64], w: usize, h: usize, k: &[f64]) -> (Vec<f64>, usize, usize) {
    let n = k.len();
    let (ow, oh) = (w + 1 - n, h + 1 - n);
    let mut tmp = vec![0.0; ow * h];
    for y in 0..h {
        for x in 0..ow {
            tmp[y * ow + x] = (0..n).map(|i| k[i] * p[y * w + x + i]).sum();
        }
    }
    let mut out = vec![0.0; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = (0..n).map(|i| k[i] * tmp[(y + i) * ow + x]).sum();
        }
    }
    (out, ow, oh)
}

/// SSIM averaged over the RGB channels. Images smaller than the window use
/// a window as large as their shorter side.
pub fn ssim(a: &RgbImage, b: &RgbImage) -> f64 {
    let (w, h) = (a.width() as usize, a.height() as usize);
    let size = 11.min(w).min(h).max(1);
    let win = gaussian_window(size, 1.5);
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let mut total = 0.0;
    for c in 0..3 {
        let plane =
            |img: &RgbImage| -> Vec<f64> { img.pixels().map(|p| p[c] as f64 / 255.0).collect() };
        let (x, y) = (plane(a), plane(b));
        let xx: Vec<f64> = x.iter().map(|v| v * v).collect();
        let yy: Vec<f64> = y.iter().map(|v| v * v).collect();
        let xy: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p * q).collect();
        let (mx, _, _) = filter_valid(&x, w, h, &win);
        let (my, _, _) = filter_valid(&y, w, h, &win);
        let (sxx, _, _) = filter_valid(&xx, w, h, &win);
        let (syy, _, _) = filter_valid(&yy, w, h, &win);
        let (sxy, ow, oh) = filter_valid(&xy, w, h, &win);
        let mut sum = 0.0;
        for i in 0..ow * oh {
            let (vx, vy) = (sxx[i] - mx[i] * mx[i], syy[i] - my[i] * my[i]);
            let cov = sxy[i] - mx[i] * my[i];
            sum += ((2.0 * mx[i] * my[i] + c1) * (2.0 * cov + c2))
                / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
        }
        total += sum / (ow * oh).max(1) as f64;
    }
    total / 3.0
}
