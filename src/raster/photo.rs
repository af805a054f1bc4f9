//! A photo in its own pixel format (grey or colour, 8 or 16 bits or float
//! a channel, with or without alpha): the methods fill f32 planes, and the
//! result goes back into the photo's format, so a 16-bit scan stays 16-bit
//! with every known value as stored, and a grey photo stays grey.
use image::{DynamicImage, ImageBuffer, Pixel, Primitive, RgbImage};

use crate::raster::colour::Profiled;
use crate::raster::metadata::Metadata;
use crate::raster::planes::{to_u8, Planes};
use crate::raster::HoleMap;

/// The colour planes of any decoded image, values in [0, 1]: 8-bit values
/// v as v / 255 (as `Planes::from_rgb`), 16-bit ones as v / 65535; a grey
/// image in all three planes.
pub fn planes_of(img: &DynamicImage) -> Planes {
    if img.color().bytes_per_pixel() / img.color().channel_count() == 1 {
        return Planes::from_rgb(&img.to_rgb8());
    }
    let rgb = img.to_rgb32f();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let mut data = vec![0.0; 3 * w * h];
    for (x, y, p) in rgb.enumerate_pixels() {
        for c in 0..3 {
            data[(c * h + y as usize) * w + x as usize] = p[c];
        }
    }
    Planes {
        width: w,
        height: h,
        data,
    }
}

/// The photo as 8-bit sRGB: its values converted from its colour profile
/// where it has one other than sRGB (`colour::Profiled`), else its values
/// as they are (8 bits a channel, grey in all three).
pub fn srgb_view(img: &DynamicImage, metadata: &Metadata) -> crate::error::Result<RgbImage> {
    match Profiled::of(metadata) {
        Some(profiled) => {
            let mut planes = planes_of(img);
            profiled.to_srgb(&mut planes)?;
            Ok(planes.to_rgb())
        }
        None => Ok(img.to_rgb8()),
    }
}

/// A channel value from a fraction in [0, 1], rounded to the nearest
/// level.
trait FromUnit: Primitive {
    fn from_unit(x: f32) -> Self;
}

impl FromUnit for u8 {
    fn from_unit(x: f32) -> Self {
        to_u8(x)
    }
}

impl FromUnit for u16 {
    fn from_unit(x: f32) -> Self {
        (65535.0 * x.clamp(0.0, 1.0) + 0.5).floor() as u16
    }
}

impl FromUnit for f32 {
    fn from_unit(x: f32) -> Self {
        x.clamp(0.0, 1.0)
    }
}

/// Where `original` sits on the canvas the planes cover (outpainting
/// grows it; otherwise the two coincide).
#[derive(Clone, Copy, Debug, Default)]
pub struct Placement {
    pub left: usize,
    pub top: usize,
}

/// The result as an image of `original`'s pixel format, `result` wide and
/// high. A pixel of `original` that is no hole and whose colour `result`
/// keeps as `input` had it (bit for bit: all but the filled holes and a
/// feathered edge) keeps its stored values, whatever the depth; the others
/// take `result` at the photo's depth: a grey photo the mean of the three
/// channels (a network trained on colour may tint a grey photo's holes,
/// and the mean is the estimate that weighs the three alike), alpha opaque
/// where they were holes (or new canvas).
pub fn compose(
    original: &DynamicImage,
    at: Placement,
    input: &Planes,
    result: &Planes,
    holes: &HoleMap,
) -> DynamicImage {
    let c = Compose {
        original_size: (original.width() as usize, original.height() as usize),
        at,
        input,
        result,
        holes,
    };
    match original {
        DynamicImage::ImageLuma8(b) => DynamicImage::ImageLuma8(c.buffer(b)),
        DynamicImage::ImageLumaA8(b) => DynamicImage::ImageLumaA8(c.buffer(b)),
        DynamicImage::ImageRgb8(b) => DynamicImage::ImageRgb8(c.buffer(b)),
        DynamicImage::ImageRgba8(b) => DynamicImage::ImageRgba8(c.buffer(b)),
        DynamicImage::ImageLuma16(b) => DynamicImage::ImageLuma16(c.buffer(b)),
        DynamicImage::ImageLumaA16(b) => DynamicImage::ImageLumaA16(c.buffer(b)),
        DynamicImage::ImageRgb16(b) => DynamicImage::ImageRgb16(c.buffer(b)),
        DynamicImage::ImageRgba16(b) => DynamicImage::ImageRgba16(c.buffer(b)),
        DynamicImage::ImageRgb32F(b) => DynamicImage::ImageRgb32F(c.buffer(b)),
        DynamicImage::ImageRgba32F(b) => DynamicImage::ImageRgba32F(c.buffer(b)),
        // A layout the decoders do not produce today: as float RGBA.
        other => DynamicImage::ImageRgba32F(c.buffer(&other.to_rgba32f())),
    }
}

struct Compose<'a> {
    original_size: (usize, usize),
    at: Placement,
    input: &'a Planes,
    result: &'a Planes,
    holes: &'a HoleMap,
}

impl Compose<'_> {
    fn buffer<P>(
        &self,
        original: &ImageBuffer<P, Vec<P::Subpixel>>,
    ) -> ImageBuffer<P, Vec<P::Subpixel>>
    where
        P: Pixel,
        P::Subpixel: FromUnit,
    {
        let (w, h) = (self.result.width, self.result.height);
        let (ow, oh) = self.original_size;
        let plane = w * h;
        let channels = P::CHANNEL_COUNT as usize;
        let grey = channels <= 2;
        let colours = if grey { 1 } else { 3 };
        let opaque = <P::Subpixel as Primitive>::DEFAULT_MAX_VALUE;
        let mut out = ImageBuffer::<P, Vec<P::Subpixel>>::new(w as u32, h as u32);
        for (x, y, p) in out.enumerate_pixels_mut() {
            let (x, y) = (x as usize, y as usize);
            let i = y * w + x;
            let hole = self.holes.holes[i];
            let inside = (x >= self.at.left && x - self.at.left < ow)
                && (y >= self.at.top && y - self.at.top < oh);
            let kept = (0..3).all(|c| {
                self.result.data[c * plane + i].to_bits()
                    == self.input.data[c * plane + i].to_bits()
            });
            if inside && !hole && kept {
                let (ox, oy) = ((x - self.at.left) as u32, (y - self.at.top) as u32);
                *p = *original.get_pixel(ox, oy);
                continue;
            }
            let v = |c: usize| self.result.data[c * plane + i];
            let ch = p.channels_mut();
            if grey {
                ch[0] = FromUnit::from_unit((v(0) + v(1) + v(2)) / 3.0);
            } else {
                for (c, value) in ch.iter_mut().enumerate().take(3) {
                    *value = FromUnit::from_unit(v(c));
                }
            }
            if channels > colours {
                ch[colours] = if hole || !inside {
                    opaque
                } else {
                    let (ox, oy) = ((x - self.at.left) as u32, (y - self.at.top) as u32);
                    original.get_pixel(ox, oy).channels()[colours]
                };
            }
        }
        out
    }
}

/// Saves `img` atomically as the extension of `path` says, in the nearest
/// layout the format holds (`storable`; `jpeg_quality` for a JPEG), with
/// the photo's colour profile, EXIF block and PNG text (`metadata`); the
/// note says what the file could not hold.
pub fn save(
    img: DynamicImage,
    path: &std::path::Path,
    jpeg_quality: u8,
    metadata: &Metadata,
) -> crate::error::Result<Option<String>> {
    let format = image::ImageFormat::from_path(path)
        .map_err(|e| crate::error::Error::Invalid(format!("{}: {e}", path.display())))?;
    let (img, note) = storable(img, format);
    let dropped =
        crate::raster::files::save_atomic_with_metadata(&img, path, jpeg_quality, metadata)?;
    let dropped = (!dropped.is_empty()).then(|| format!("not written: {}", dropped.join("; ")));
    Ok(match (note, dropped) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    })
}

fn format_name(format: image::ImageFormat) -> &'static str {
    use image::ImageFormat as F;
    match format {
        F::Png => "PNG",
        F::Tiff => "TIFF",
        F::Jpeg => "JPEG",
        F::WebP => "WebP",
        F::Bmp => "BMP",
        _ => "this format",
    }
}

/// What a file of `format` can hold of `img`: `img` itself where its
/// encoder takes the layout, else the nearest layout it does take, and a
/// note saying what that gives up (so nothing is lost silently). PNG
/// holds grey and colour, with alpha, at 8 and 16 bits; TIFF colour at 8,
/// 16 and 32 (float) bits and grey without alpha; JPEG 8-bit grey or
/// colour without alpha; WebP and BMP 8 bits.
pub fn storable(img: DynamicImage, format: image::ImageFormat) -> (DynamicImage, Option<String>) {
    use image::ColorType as C;
    use image::ImageFormat as F;
    let color = img.color();
    let bits = 8 * color.bytes_per_pixel() / color.channel_count();
    let (grey, alpha) = (!color.has_color(), color.has_alpha());
    let name = format_name(format);
    let eight = |grey: bool, alpha: bool| match (grey, alpha) {
        (true, false) => C::L8,
        (true, true) => C::La8,
        (false, false) => C::Rgb8,
        (false, true) => C::Rgba8,
    };
    let want = match format {
        F::Png => match color {
            C::Rgb32F => C::Rgb16,
            C::Rgba32F => C::Rgba16,
            c => c,
        },
        F::Tiff => match color {
            C::La8 => C::Rgba8,
            C::La16 => C::Rgba16,
            c => c,
        },
        F::Jpeg => eight(grey, false),
        _ => eight(grey, alpha),
    };
    if want == color {
        return (img, None);
    }
    let mut lost = Vec::new();
    let want_bits = 8 * want.bytes_per_pixel() / want.channel_count();
    if want_bits < bits {
        lost.push(format!("{bits} bits a channel become {want_bits}"));
    }
    if alpha && !want.has_alpha() {
        lost.push("the transparency is dropped".to_string());
    }
    if grey && want.has_color() {
        lost.push("the grey photo is stored as colour (its values stay grey)".to_string());
    }
    let note = format!(
        "{name} cannot hold this image as it is: {} (PNG keeps everything but float)",
        lost.join(", ")
    );
    let converted = match want {
        C::L8 => DynamicImage::ImageLuma8(img.to_luma8()),
        C::La8 => DynamicImage::ImageLumaA8(img.to_luma_alpha8()),
        C::Rgb8 => DynamicImage::ImageRgb8(img.to_rgb8()),
        C::Rgba8 => DynamicImage::ImageRgba8(img.to_rgba8()),
        C::Rgb16 => DynamicImage::ImageRgb16(img.to_rgb16()),
        C::Rgba16 => DynamicImage::ImageRgba16(img.to_rgba16()),
        _ => DynamicImage::ImageRgba8(img.to_rgba8()),
    };
    (converted, Some(note))
}
