//! Outpainting: a larger canvas around an image whose new pixels are holes,
//! so any method fills them as it fills holes.
use image::RgbImage;

use crate::error::{Error, Result};
use crate::raster::{HoleMap, Planes};

/// Pixels added on each side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Margins {
    pub left: usize,
    pub top: usize,
    pub right: usize,
    pub bottom: usize,
}

/// The most pixels a side may grow by (the canvas stays decodable-sized).
pub const MAX_MARGIN: usize = 16384;

impl Margins {
    /// `n` pixels on every side.
    pub fn uniform(n: usize) -> Self {
        Margins {
            left: n,
            top: n,
            right: n,
            bottom: n,
        }
    }

    /// "N" (every side) or "LEFT,TOP,RIGHT,BOTTOM", in pixels.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            Error::Invalid(format!(
                "{s:?}: give N or LEFT,TOP,RIGHT,BOTTOM in pixels, each from 0 to {MAX_MARGIN}"
            ))
        };
        let parts: Vec<usize> = s
            .split(',')
            .map(|p| p.trim().parse::<usize>().ok().filter(|&n| n <= MAX_MARGIN))
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        match parts[..] {
            [n] => Ok(Margins::uniform(n)),
            [left, top, right, bottom] => Ok(Margins {
                left,
                top,
                right,
                bottom,
            }),
            _ => Err(bad()),
        }
    }

    /// The margins that center a `width` x `height` image on a canvas of
    /// `to_width` x `to_height` (an odd extra pixel goes right and down).
    pub fn centering(
        width: usize,
        height: usize,
        to_width: usize,
        to_height: usize,
    ) -> Result<Self> {
        if to_width < width || to_height < height {
            return Err(Error::Invalid(format!(
                "the canvas {to_width}x{to_height} is smaller than the image ({width}x{height})"
            )));
        }
        let (dw, dh) = (to_width - width, to_height - height);
        if dw.max(dh) > 2 * MAX_MARGIN {
            return Err(Error::Invalid(format!(
                "the canvas {to_width}x{to_height} grows the image by more than {MAX_MARGIN} px a side"
            )));
        }
        Ok(Margins {
            left: dw / 2,
            top: dh / 2,
            right: dw - dw / 2,
            bottom: dh - dh / 2,
        })
    }

    /// The image on a canvas grown by these margins, and its holes: the
    /// image's own plus every new pixel. New pixels repeat the nearest
    /// edge pixel (a method never learns from them, but OpenCV's methods
    /// read a few pixels under the holes at the border).
    pub fn extend(&self, img: &RgbImage, holes: &HoleMap) -> (RgbImage, HoleMap) {
        let (canvas, holes) = self.extend_planes(&Planes::from_rgb(img), holes);
        (canvas.to_rgb(), holes)
    }

    /// `extend` for an image of any depth as f32 planes.
    pub fn extend_planes(&self, img: &Planes, holes: &HoleMap) -> (Planes, HoleMap) {
        let (w, h) = (img.width, img.height);
        let (cw, ch) = (w + self.left + self.right, h + self.top + self.bottom);
        let inside = |x: usize, y: usize| {
            (self.left..self.left + w).contains(&x) && (self.top..self.top + h).contains(&y)
        };
        let mut canvas = Vec::with_capacity(3 * cw * ch);
        for c in 0..3 {
            for y in 0..ch {
                let sy = y.clamp(self.top, self.top + h - 1) - self.top;
                canvas.extend((0..cw).map(|x| {
                    let sx = x.clamp(self.left, self.left + w - 1) - self.left;
                    img.data[(c * h + sy) * w + sx]
                }));
            }
        }
        let mut out = vec![true; cw * ch];
        for y in 0..ch {
            for x in 0..cw {
                if inside(x, y) {
                    out[y * cw + x] = holes.holes[(y - self.top) * w + (x - self.left)];
                }
            }
        }
        (
            Planes {
                width: cw,
                height: ch,
                data: canvas,
            },
            HoleMap {
                width: cw,
                height: ch,
                holes: out,
            },
        )
    }
}
