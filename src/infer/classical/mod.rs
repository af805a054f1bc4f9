//! The classical methods. Two exactly as OpenCV's `cv::inpaint` computes
//! them on an 8-bit RGB image: Telea (2004, `INPAINT_TELEA`) and the
//! Navier–Stokes-inspired method of Bertalmío et al. (2001, `INPAINT_NS`).
//! They share the fast-marching order (`march`); each fills a pixel from
//! the known pixels within `radius` as OpenCV weighs them, writing 8-bit
//! values that later pixels read, so results match OpenCV's (tested on
//! fixtures made with OpenCV: `tests/classical.rs`). And biharmonic
//! inpainting as scikit-image's `inpaint_biharmonic` (`biharmonic`): the
//! smoothest surface through the known pixels, solved as one linear
//! system; no radius. And opencv-contrib's frequency selective
//! reconstruction (`fsr`, `cv::xphoto::inpaint` with `INPAINT_FSR_FAST` or
//! `_BEST`):
//! blocks modelled as sums of Fourier basis functions, the best of these
//! on photos; no radius either.
pub mod biharmonic;
mod fsr;
mod march;
mod ns;
mod telea;

use image::RgbImage;

use crate::error::Result;
use crate::raster::planes::Planes;
use crate::raster::HoleMap;

/// OpenCV's documentation and most users' radius.
pub const DEFAULT_RADIUS: usize = 3;

/// Which classical method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Classical {
    Telea,
    NavierStokes,
    Biharmonic,
    Fsr,
    FsrBest,
}

impl Classical {
    pub fn name(self) -> &'static str {
        match self {
            Classical::Telea => "telea",
            Classical::NavierStokes => "ns",
            Classical::Biharmonic => "biharmonic",
            Classical::Fsr => "fsr",
            Classical::FsrBest => "fsr-best",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Classical::Telea => "Telea",
            Classical::NavierStokes => "Navier–Stokes",
            Classical::Biharmonic => "Biharmonic",
            Classical::Fsr => "FSR",
            Classical::FsrBest => "FSR (best)",
        }
    }

    /// Fills the holes of an 8-bit image: Telea and Navier–Stokes as
    /// `cv::inpaint(image, mask, radius, flag)` does, biharmonic as
    /// scikit-image's `inpaint_biharmonic` (on values / 255, rounded back
    /// to 8 bits); known pixels are returned unchanged. Like OpenCV, the
    /// fill next to the image's border can read pixels under the holes
    /// (its neighbour indices shift inward there). The radius is clamped to
    /// 1..=100 as OpenCV clamps it, and ignored by biharmonic and FSR
    /// (which is filled as `cv::xphoto::inpaint(.., INPAINT_FSR_FAST)`,
    /// but every hole, see `fsr`). An image
    /// with no known pixel at all becomes mid-grey (OpenCV would return it
    /// unchanged, whatever lay under the holes). Errors only where
    /// biharmonic's system is too large (`biharmonic::MAX_UNKNOWNS`).
    pub fn inpaint(self, image: &RgbImage, holes: &HoleMap, radius: usize) -> Result<RgbImage> {
        if holes.holes.iter().all(|&h| h) {
            return Ok(RgbImage::from_pixel(
                image.width(),
                image.height(),
                image::Rgb([128; 3]),
            ));
        }
        match self {
            Classical::Biharmonic => {
                Ok(biharmonic::fill(&Planes::from_rgb(image), &holes.holes)?.to_rgb())
            }
            Classical::Fsr => Ok(fsr::fill(image, holes, fsr::Quality::Fast)),
            Classical::FsrBest => Ok(fsr::fill(image, holes, fsr::Quality::Best)),
            Classical::Telea | Classical::NavierStokes => {
                Ok(self.march(image, holes, radius.clamp(1, 100)))
            }
        }
    }

    /// Telea or Navier–Stokes along the fast march, pixel by pixel as
    /// OpenCV fills them.
    fn march(self, image: &RgbImage, holes: &HoleMap, range: usize) -> RgbImage {
        let mut out = Pixels {
            width: image.width() as usize,
            height: image.height() as usize,
            data: image.as_raw().clone(),
        };
        let mut m = march::March::new(holes);
        if self == Classical::Telea {
            m.distances_outside(range);
            m.run(|i, j, flags, t| telea::fill(&mut out, i, j, flags, t, range));
        } else {
            m.run(|i, j, flags, _| ns::fill(&mut out, i, j, flags, range));
        }
        RgbImage::from_raw(image.width(), image.height(), out.data)
            .expect("the buffer keeps its size")
    }

    /// `inpaint` on planes in [0, 1], for the `Method` interface: Telea,
    /// Navier–Stokes and FSR round them to 8 bits first (OpenCV's methods
    /// take 8-bit images), biharmonic fills them as they are (a 16-bit
    /// photo's holes at its precision; an 8-bit photo's fill rounds to the
    /// same bytes as `inpaint`'s).
    pub fn predict(self, image: &Planes, holes: &HoleMap, radius: usize) -> Result<Planes> {
        if self == Classical::Biharmonic && holes.holes.contains(&false) {
            return biharmonic::fill(image, &holes.holes);
        }
        let rgb = image.to_rgb();
        Ok(Planes::from_rgb(&self.inpaint(&rgb, holes, radius)?))
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
