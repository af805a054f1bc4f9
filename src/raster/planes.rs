//! Images as f32 planes in [0, 1] (CHW), with the spec's 8-bit conversion,
//! the composite, and padding/cropping for the network.
use image::RgbImage;

use crate::raster::HoleMap;

/// An RGB image, channels first, values in [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct Planes {
    pub width: usize,
    pub height: usize,
    /// [3, height, width].
    pub data: Vec<f32>,
}

/// The spec's 8-bit output: floor(255 · clamp(x, 0, 1) + 0.5).
pub fn to_u8(x: f32) -> u8 {
    (255.0 * x.clamp(0.0, 1.0) + 0.5).floor() as u8
}

impl Planes {
    pub fn from_rgb(img: &RgbImage) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut data = vec![0.0; 3 * w * h];
        for (x, y, p) in img.enumerate_pixels() {
            for c in 0..3 {
                data[(c * h + y as usize) * w + x as usize] = p[c] as f32 / 255.0;
            }
        }
        Planes {
            width: w,
            height: h,
            data,
        }
    }

    pub fn to_rgb(&self) -> RgbImage {
        let (w, h) = (self.width, self.height);
        RgbImage::from_fn(w as u32, h as u32, |x, y| {
            let at = |c: usize| self.data[(c * h + y as usize) * w + x as usize];
            image::Rgb([to_u8(at(0)), to_u8(at(1)), to_u8(at(2))])
        })
    }

    /// Zero-padded at the bottom and right to `width` x `height`.
    pub fn padded(&self, width: usize, height: usize) -> Self {
        let mut data = vec![0.0; 3 * width * height];
        for c in 0..3 {
            for y in 0..self.height {
                let src = (c * self.height + y) * self.width;
                let dst = (c * height + y) * width;
                data[dst..dst + self.width].copy_from_slice(&self.data[src..src + self.width]);
            }
        }
        Planes {
            width,
            height,
            data,
        }
    }

    /// One of the 8 flips/rotations by 90° (`k` in 0..8), as
    /// `HoleMap::transformed`.
    pub fn transformed(&self, k: u64) -> Self {
        let (width, height) = crate::raster::dihedral::size(k, self.width, self.height);
        let plane = self.width * self.height;
        let sources = crate::raster::dihedral::source_indices(k, self.width, self.height);
        let mut data = Vec::with_capacity(3 * plane);
        for c in 0..3 {
            data.extend(sources.iter().map(|&i| self.data[c * plane + i]));
        }
        Planes {
            width,
            height,
            data,
        }
    }

    /// Resized to `width` x `height`, each channel separately (bilinear,
    /// in float).
    pub fn resized(&self, width: usize, height: usize) -> Self {
        let plane = self.width * self.height;
        let mut data = Vec::with_capacity(3 * width * height);
        for c in 0..3 {
            let src = image::ImageBuffer::<image::Luma<f32>, Vec<f32>>::from_raw(
                self.width as u32,
                self.height as u32,
                self.data[c * plane..(c + 1) * plane].to_vec(),
            )
            .expect("a plane holds width x height values");
            let out = image::imageops::resize(
                &src,
                width as u32,
                height as u32,
                image::imageops::FilterType::Triangle,
            );
            data.extend_from_slice(out.as_raw());
        }
        Planes {
            width,
            height,
            data,
        }
    }

    /// Downscaled to `width` x `height` from its known pixels alone, with
    /// the holes `HoleMap::shrunk` gives: each value is the filter's
    /// weighted mean of the known pixels under it (resize(v·k) / resize(k)
    /// for the known mask k, a normalised convolution), so whatever the
    /// holes hold (the object being removed) reaches no known pixel of the
    /// result. A result pixel with no known pixel under it is a hole there
    /// and holds 0.
    pub fn shrunk_from_known(
        &self,
        holes: &HoleMap,
        width: usize,
        height: usize,
    ) -> (Planes, HoleMap) {
        let plane = self.width * self.height;
        let known = holes.known_mask();
        let mut masked = self.clone();
        for c in 0..3 {
            for (v, k) in masked.data[c * plane..(c + 1) * plane]
                .iter_mut()
                .zip(&known)
            {
                *v *= k;
            }
        }
        let weight = Planes {
            width: self.width,
            height: self.height,
            data: known.repeat(3),
        }
        .resized(width, height);
        let mut small = masked.resized(width, height);
        for (v, w) in small.data.iter_mut().zip(&weight.data) {
            *v = if *w > 0.0 { *v / w } else { 0.0 };
        }
        (small, holes.shrunk(width, height))
    }

    /// The top-left `width` x `height` region.
    pub fn cropped(&self, width: usize, height: usize) -> Self {
        let mut data = vec![0.0; 3 * width * height];
        for c in 0..3 {
            for y in 0..height {
                let src = (c * self.height + y) * self.width;
                let dst = (c * height + y) * width;
                data[dst..dst + width].copy_from_slice(&self.data[src..src + width]);
            }
        }
        Planes {
            width,
            height,
            data,
        }
    }
}

/// The network's mask (1 = known) padded at the bottom and right with holes.
pub fn padded_known_mask(holes: &HoleMap, width: usize, height: usize) -> Vec<f32> {
    let mut m = vec![0.0; width * height];
    for y in 0..holes.height {
        for x in 0..holes.width {
            if !holes.holes[y * holes.width + x] {
                m[y * width + x] = 1.0;
            }
        }
    }
    m
}

/// The image a user gets back: known pixels are the input's own 8-bit
/// values, bit for bit; holes take the prediction, clamped and rounded.
pub fn composite(input: &RgbImage, prediction: &Planes, holes: &HoleMap) -> RgbImage {
    let w = input.width() as usize;
    let h = input.height() as usize;
    let mut out = input.clone();
    for (x, y, p) in out.enumerate_pixels_mut() {
        let (x, y) = (x as usize, y as usize);
        if holes.holes[y * w + x] {
            for c in 0..3 {
                p[c] = to_u8(prediction.data[(c * h + y) * w + x]);
            }
        }
    }
    out
}

/// `composite` with the edge feathered over `feather` pixels: a known
/// pixel at distance d (1 ≤ d ≤ feather) from the nearest hole takes
/// (1 − d / (feather + 1)) of the prediction, so a fill that differs from
/// its surroundings leaves no hard seam. Known pixels farther away keep
/// their bytes; `feather` 0 is `composite`.
pub fn composite_feathered(
    input: &RgbImage,
    prediction: &Planes,
    holes: &HoleMap,
    feather: usize,
) -> RgbImage {
    let mut out = composite(input, prediction, holes);
    if feather == 0 {
        return out;
    }
    let (w, h) = (holes.width, holes.height);
    let near = holes.squared_distances(true);
    let limit = (feather * feather) as u64;
    for (i, &d2) in near.iter().enumerate() {
        if d2 == 0 || d2 > limit {
            continue;
        }
        let t = 1.0 - (d2 as f32).sqrt() / (feather + 1) as f32;
        let (x, y) = ((i % w) as u32, (i / w) as u32);
        let p = out.get_pixel_mut(x, y);
        for c in 0..3 {
            let known = p[c] as f32 / 255.0;
            let pred = prediction.data[(c * h + y as usize) * w + x as usize].clamp(0.0, 1.0);
            p[c] = to_u8(known + t * (pred - known));
        }
    }
    out
}

/// Checks that a mask matches its image; resizes it (nearest) only when
/// asked.
pub fn fit_mask(
    holes: HoleMap,
    width: usize,
    height: usize,
    resize: bool,
) -> crate::Result<HoleMap> {
    if (holes.width, holes.height) == (width, height) {
        return Ok(holes);
    }
    if resize {
        return Ok(holes.resize_nearest(width, height));
    }
    Err(crate::Error::Invalid(format!(
        "the mask is {}x{} but the image is {width}x{height} (pass --resize-mask to resize it, nearest-neighbour)",
        holes.width, holes.height
    )))
}
