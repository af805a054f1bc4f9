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

    /// The `width` x `height` region whose top-left corner is (x0, y0).
    pub fn region(&self, x0: usize, y0: usize, width: usize, height: usize) -> Self {
        let mut data = Vec::with_capacity(3 * width * height);
        for c in 0..3 {
            for y in y0..y0 + height {
                let row = (c * self.height + y) * self.width;
                data.extend_from_slice(&self.data[row + x0..row + x0 + width]);
            }
        }
        Planes {
            width,
            height,
            data,
        }
    }

    /// `other` written over this image with its top-left corner at (x0, y0).
    pub fn paste(&mut self, other: &Planes, x0: usize, y0: usize) {
        for c in 0..3 {
            for y in 0..other.height {
                let src = (c * other.height + y) * other.width;
                let dst = (c * self.height + y0 + y) * self.width + x0;
                self.data[dst..dst + other.width]
                    .copy_from_slice(&other.data[src..src + other.width]);
            }
        }
    }

    /// The top-left `width` x `height` region.
    pub fn cropped(&self, width: usize, height: usize) -> Self {
        self.region(0, 0, width, height)
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
    composite_feathered(input, prediction, holes, 0)
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
    composite_planes(&Planes::from_rgb(input), prediction, holes, feather).to_rgb()
}

/// `composite_feathered` in f32, for images of any depth: known pixels
/// beyond the feathered edge keep their values bit for bit (so an 8-bit
/// input's come back as its bytes), holes take the prediction clamped to
/// [0, 1].
pub fn composite_planes(
    input: &Planes,
    prediction: &Planes,
    holes: &HoleMap,
    feather: usize,
) -> Planes {
    let plane = input.width * input.height;
    let mut out = input.clone();
    let near = (feather > 0).then(|| holes.squared_distances(true));
    let limit = (feather * feather) as u64;
    for i in 0..plane {
        // How much of the prediction the pixel takes.
        let t = if holes.holes[i] {
            1.0
        } else {
            match &near {
                Some(near) if near[i] != 0 && near[i] <= limit => {
                    1.0 - (near[i] as f32).sqrt() / (feather + 1) as f32
                }
                _ => continue,
            }
        };
        for c in 0..3 {
            let k = c * plane + i;
            let pred = prediction.data[k].clamp(0.0, 1.0);
            out.data[k] = if t == 1.0 {
                pred
            } else {
                input.data[k] + t * (pred - input.data[k])
            };
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
