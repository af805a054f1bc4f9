//! The classical methods, each exactly as OpenCV's `cv::inpaint` computes
//! it on an 8-bit RGB image: Telea (2004, `INPAINT_TELEA`) and the
//! Navier–Stokes-inspired method of Bertalmío et al. (2001, `INPAINT_NS`).
//! They share the fast-marching order (`march`); each fills a pixel from
//! the known pixels within `radius` as OpenCV weighs them, writing 8-bit
//! values that later pixels read, so results match OpenCV's (tested on
//! fixtures made with OpenCV: `tests/classical.rs`).
mod march;
mod ns;
mod telea;

use image::RgbImage;

use crate::raster::planes::{to_u8, Planes};
use crate::raster::HoleMap;

/// OpenCV's documentation and most users' radius.
pub const DEFAULT_RADIUS: usize = 3;

/// Which classical method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Classical {
    Telea,
    NavierStokes,
}

impl Classical {
    pub fn name(self) -> &'static str {
        match self {
            Classical::Telea => "telea",
            Classical::NavierStokes => "ns",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Classical::Telea => "Telea",
            Classical::NavierStokes => "Navier–Stokes",
        }
    }

    /// Fills the holes of an 8-bit image as `cv::inpaint(image, mask,
    /// radius, flag)` does; known pixels are returned unchanged. Like
    /// OpenCV, the fill next to the image's border can read pixels under
    /// the holes (its neighbour indices shift inward there). The radius
    /// is clamped to 1..=100 as OpenCV clamps it. An image with no known
    /// pixel at all becomes mid-grey (OpenCV would return it unchanged,
    /// whatever lay under the holes).
    pub fn inpaint(self, image: &RgbImage, holes: &HoleMap, radius: usize) -> RgbImage {
        self.inpaint_until(image, holes, radius, f32::INFINITY)
    }

    /// `inpaint` as far as the fast march's arrival `until` (in pixels from
    /// the holes' edges, a little above the Euclidean distance on
    /// diagonals): those pixels get exactly what `inpaint` gives them, the
    /// deeper ones keep the image's values, and the work stays near the
    /// edges however large the holes.
    pub fn inpaint_until(
        self,
        image: &RgbImage,
        holes: &HoleMap,
        radius: usize,
        until: f32,
    ) -> RgbImage {
        if holes.holes.iter().all(|&h| h) {
            return RgbImage::from_pixel(image.width(), image.height(), image::Rgb([128; 3]));
        }
        let range = radius.clamp(1, 100);
        let mut out = Pixels {
            width: image.width() as usize,
            height: image.height() as usize,
            data: image.as_raw().clone(),
        };
        let mut m = march::March::new(holes);
        match self {
            Classical::Telea => {
                m.distances_outside(range);
                m.run(until, |i, j, flags, t| {
                    telea::fill(&mut out, i, j, flags, t, range)
                });
            }
            Classical::NavierStokes => {
                m.run(until, |i, j, flags, _| {
                    ns::fill(&mut out, i, j, flags, range)
                });
            }
        }
        RgbImage::from_raw(image.width(), image.height(), out.data)
            .expect("the buffer keeps its size")
    }

    /// `inpaint` on planes in [0, 1] (rounded to 8 bits first, as the
    /// composite is), for the `Method` interface.
    pub fn predict(self, image: &Planes, holes: &HoleMap, radius: usize) -> Planes {
        self.predict_until(image, holes, radius, f32::INFINITY)
    }

    /// `predict` as far as arrival `until` (see `inpaint_until`).
    pub fn predict_until(
        self,
        image: &Planes,
        holes: &HoleMap,
        radius: usize,
        until: f32,
    ) -> Planes {
        let (w, h) = (image.width, image.height);
        let rgb = RgbImage::from_fn(w as u32, h as u32, |x, y| {
            let at = |c: usize| to_u8(image.data[(c * h + y as usize) * w + x as usize]);
            image::Rgb([at(0), at(1), at(2)])
        });
        Planes::from_rgb(&self.inpaint_until(&rgb, holes, radius, until))
    }
}

/// The image being filled, read as OpenCV reads its continuous buffer.
pub(crate) struct Pixels {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl Pixels {
    /// Channel `c` at image (row, col). OpenCV's neighbour indices can
    /// reach one column past the edge of a one-pixel-wide image; in its
    /// continuous buffer that is the next row's pixel, read here the same
    /// way (and held inside the buffer).
    fn at(&self, row: i64, col: i64, c: usize) -> i32 {
        let last = (self.width * self.height) as i64 - 1;
        let flat = (row * self.width as i64 + col).clamp(0, last) as usize;
        i32::from(self.data[flat * 3 + c])
    }

    fn set(&mut self, row: usize, col: usize, c: usize, v: u8) {
        self.data[(row * self.width + col) * 3 + c] = v;
    }
}

/// OpenCV's `saturate_cast<uchar>`: round half to even, then clamp.
fn saturate_u8(x: f64) -> u8 {
    x.round_ties_even().clamp(0.0, 255.0) as u8
}

/// OpenCV's neighbour rows for framed row `k` (columns alike): `m` is the
/// image row of k, moved off the first row, and `p` the one before it,
/// moved off the last (so that m - 1 and p + 1 stay in the image).
fn shifted(k: usize, framed: usize) -> (i64, i64) {
    let k = k as i64;
    let m = k - 1 + i64::from(k == 1);
    let p = k - 1 - i64::from(k == framed as i64 - 2);
    (m, p)
}
