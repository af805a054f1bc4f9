//! Image files: listing a folder, decoding (EXIF orientation, complete
//! JPEGs, a memory budget) and saving atomically.
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::raster::metadata::Metadata;

/// The image files pconv reads, by extension (the content decides the format).
pub const EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"];

/// Every image file below `dir` (recursive; each real file once, however
/// many links lead to it), sorted; an error when there is none.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let out = crate::io::files::walk_files(dir, EXTENSIONS)?;
    if out.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no images found (looked for {} files, recursively)",
            dir.display(),
            EXTENSIONS.join("/")
        )));
    }
    Ok(out)
}

/// Decodes an image file (format from its content, not its name), turned
/// upright as its EXIF orientation says (as viewers show it, so a mask
/// drawn on the displayed photo fits). Only a regular file is read; a JPEG
/// must be complete (decoders fill a missing tail with grey, which would
/// pass for known pixels); the decoded image may take at most half the
/// memory available (`files::memory_budget`), and a larger one is an error
/// that gives its size.
pub fn decode(path: &Path) -> Result<image::DynamicImage> {
    Ok(decode_as(path, false)?.0)
}

/// `decode`, with the photo's colour profile, EXIF block and PNG text (to
/// write them with its result).
pub fn decode_with_metadata(path: &Path) -> Result<(image::DynamicImage, Metadata)> {
    decode_as(path, true)
}

fn decode_as(path: &Path, with_metadata: bool) -> Result<(image::DynamicImage, Metadata)> {
    let err = |e: &dyn std::fmt::Display| Error::Invalid(format!("{}: {e}", path.display()));
    let budget = crate::io::files::memory_budget();
    let bytes = crate::io::files::read_regular(path, budget)?;
    let reader = || {
        image::ImageReader::new(std::io::Cursor::new(&bytes[..]))
            .with_guessed_format()
            .map_err(|e| err(&e))
    };
    let format = reader()?.format().ok_or_else(|| {
        err(&format!(
            "not an image pconv reads ({})",
            EXTENSIONS.join("/")
        ))
    })?;
    let (w, h) = reader()?.into_dimensions().map_err(|e| err(&e))?;
    // The decoded pixels (RGBA) and their RGB copy; 16-bit images meet
    // the decoder's own limit below.
    let needed = u64::from(w) * u64::from(h) * 7;
    let too_large = || {
        err(&format!(
            "the image is {w}x{h}, about {} MB once decoded, more than the {} MB this machine can spare (half its available memory)",
            needed / 1_000_000,
            budget / 1_000_000
        ))
    };
    if needed > budget {
        return Err(too_large());
    }
    if format == image::ImageFormat::Jpeg && !jpeg_is_complete(&bytes) {
        return Err(err(
            &"truncated JPEG (no end-of-image marker after the last scan)",
        ));
    }
    let mut r = reader()?;
    let mut limits = image::Limits::no_limits();
    limits.max_alloc = Some(budget);
    r.limits(limits);
    let fail = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => too_large(),
        e => err(&e),
    };
    let mut decoder = r.into_decoder().map_err(fail)?;
    // An unreadable orientation tag leaves the image as stored.
    let orientation = image::ImageDecoder::orientation(&mut decoder)
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let metadata = if with_metadata {
        use image::metadata::Orientation as O;
        Metadata {
            png_text: Metadata::png_text_of(&bytes),
            turned: matches!(
                orientation,
                O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH
            ),
            ..Metadata::read(&mut decoder)
        }
    } else {
        Metadata::default()
    };
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(fail)?;
    img.apply_orientation(orientation);
    Ok((img, metadata))
}

/// Whether a JPEG stream has an end-of-image marker (FF D9) after the start
/// of its last scan (FF DA). Inside entropy-coded data a 0xFF byte is
/// always followed by 0x00 or a restart marker, so FF D9 there is the real
/// end; a file cut anywhere after its headers lacks it.
pub fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let marker = |m: u8| bytes.windows(2).rposition(|w| w[0] == 0xFF && w[1] == m);
    match (marker(0xDA), marker(0xD9)) {
        (Some(scan), Some(end)) => end > scan,
        _ => false,
    }
}

/// Decodes an image file to 8-bit sRGB (`photo::srgb_view`): what
/// training, evaluation and the app's view work on.
pub fn load_rgb(path: &Path) -> Result<image::RgbImage> {
    let (img, metadata) = decode_with_metadata(path)?;
    crate::raster::photo::srgb_view(&img, &metadata)
}

/// Writes an image (format from the extension) to a temporary file beside
/// `path`, flushed to disk, and renames it into place, so a failed write
/// (a full disk) never leaves a truncated file under the real name, nor a
/// temporary one. The image is encoded in memory first: an encoder writing
/// through a buffered file can lose the error of its last flush.
pub fn save_atomic(img: &image::DynamicImage, path: &std::path::Path) -> crate::error::Result<()> {
    save_atomic_with(img, path, JPEG_QUALITY)
}

/// The JPEG quality of saved results: JPEG moves the known pixels too
/// (measured on a 256² photo crop: 1.6 levels on average, at most 19, at
/// 95; 2.8 and 56 at the encoder's default 75); PNG keeps them exact.
pub const JPEG_QUALITY: u8 = 95;

/// `save_atomic` with the JPEG quality (1–100) for a `.jpg` path.
pub fn save_atomic_with(
    img: &image::DynamicImage,
    path: &std::path::Path,
    jpeg_quality: u8,
) -> crate::error::Result<()> {
    save_atomic_with_metadata(img, path, jpeg_quality, &Metadata::default()).map(|_| ())
}

/// `save_atomic_with`, writing `metadata` (`Metadata::exif_for` the
/// image's size) as far as the format holds it; the names of what it could
/// not hold come back.
pub fn save_atomic_with_metadata(
    img: &image::DynamicImage,
    path: &std::path::Path,
    jpeg_quality: u8,
    metadata: &Metadata,
) -> crate::error::Result<Vec<&'static str>> {
    use image::codecs;
    use image::ImageFormat as F;
    let fail = |e: &dyn std::fmt::Display| {
        crate::error::Error::Invalid(format!("{}: {e}", path.display()))
    };
    let format = image::ImageFormat::from_path(path).map_err(|e| fail(&e))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    let mut embed = Embed {
        icc: metadata.icc.as_deref(),
        exif: metadata.exif_for(img.width(), img.height()),
        dropped: Vec::new(),
    };
    if metadata.exif.is_some() && embed.exif.is_none() {
        embed.dropped.push(DROPPED_EXIF_NOT_TIFF);
    }
    let w = &mut bytes;
    let written = match format {
        F::Jpeg => {
            // JPEG has no alpha and 8 bits: the grey or colour channels are written.
            let rgb = if img.color().has_color() {
                image::DynamicImage::ImageRgb8(img.to_rgb8())
            } else {
                image::DynamicImage::ImageLuma8(img.to_luma8())
            };
            // One APP1 segment holds the block after its 6-byte header and
            // 2-byte length (the encoder would wrap the length past that);
            // 255 APP2 segments of 65,519 bytes hold the profile.
            if embed.exif.take_if(|b| b.len() > 65_535 - 8).is_some() {
                embed.dropped.push(DROPPED_EXIF_SIZE);
            }
            if embed.icc.take_if(|b| b.len() > 255 * 65_519).is_some() {
                embed.dropped.push(DROPPED_ICC_SIZE);
            }
            embed.write(
                codecs::jpeg::JpegEncoder::new_with_quality(w, jpeg_quality),
                &rgb,
            )
        }
        F::Png => embed
            .write(codecs::png::PngEncoder::new(&mut *w), img)
            .map(|()| insert_before_iend(w.get_mut(), &metadata.png_text)),
        F::Tiff => embed.write(codecs::tiff::TiffEncoder::new(w), img),
        F::WebP => embed.write(codecs::webp::WebPEncoder::new_lossless(w), img),
        F::Bmp => embed.write(codecs::bmp::BmpEncoder::new(w), img),
        other => {
            embed.dropped.extend(embed.icc.map(|_| DROPPED_ICC));
            embed
                .dropped
                .extend(embed.exif.as_ref().map(|_| DROPPED_EXIF));
            img.write_to(w, other)
        }
    };
    if format != F::Png && !metadata.png_text.is_empty() {
        embed.dropped.push(DROPPED_PNG_TEXT);
    }
    written.map_err(|e| fail(&e))?;
    crate::io::files::write_atomic(path, bytes.get_ref())?;
    Ok(embed.dropped)
}

// What a saved result leaves out, and why (`photo::save` lists them).
const DROPPED_ICC: &str =
    "the colour profile (written in PNG, JPEG, WebP and TIFF only: colours may look different)";
const DROPPED_ICC_SPACE: &str =
    "the colour profile (it is for another colour space than the result's)";
const DROPPED_ICC_SIZE: &str = "the colour profile (larger than a JPEG holds)";
const DROPPED_EXIF: &str = "the EXIF metadata (written in PNG, JPEG and WebP only)";
const DROPPED_EXIF_SIZE: &str = "the EXIF metadata (larger than a JPEG holds: 65,527 bytes)";
const DROPPED_PNG_TEXT: &str = "the PNG text (generation parameters, comments: a PNG keeps them)";
const DROPPED_EXIF_NOT_TIFF: &str = "the EXIF metadata (not a TIFF structure, so unreadable)";

/// Inserts whole PNG chunks before the IEND chunk that ends `png` (any
/// chunk but IHDR may come last but one).
fn insert_before_iend(png: &mut Vec<u8>, chunks: &[Vec<u8>]) {
    if chunks.is_empty() || png.len() < 12 {
        return;
    }
    let at = png.len() - 12;
    png.splice(at..at, chunks.concat());
}

/// The profile and EXIF block to hand an encoder, and what the result
/// leaves out.
struct Embed<'a> {
    icc: Option<&'a [u8]>,
    exif: Option<Vec<u8>>,
    dropped: Vec<&'static str>,
}

impl Embed<'_> {
    /// Writes `img` through `encoder`, handed the profile and EXIF block first.
    fn write(
        &mut self,
        mut encoder: impl image::ImageEncoder,
        img: &image::DynamicImage,
    ) -> image::ImageResult<()> {
        // A profile describes one colour space ('RGB ', 'GRAY', 'CMYK' at
        // bytes 16..20 of its header): a CMYK photo's, say, is no profile
        // for the RGB result it was converted to (viewers reject it).
        let space: &[u8] = if img.color().has_color() {
            b"RGB "
        } else {
            b"GRAY"
        };
        if let Some(icc) = self.icc {
            if icc.get(16..20) != Some(space) {
                self.dropped.push(DROPPED_ICC_SPACE);
            } else if encoder.set_icc_profile(icc.to_vec()).is_err() {
                self.dropped.push(DROPPED_ICC);
            }
        }
        if let Some(exif) = self.exif.take() {
            if encoder.set_exif_metadata(exif).is_err() {
                self.dropped.push(DROPPED_EXIF);
            }
        }
        img.write_with_encoder(encoder)
    }
}
