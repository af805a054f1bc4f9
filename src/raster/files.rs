//! Image files: listing a folder, decoding (EXIF orientation, complete
//! JPEGs, a memory budget) and saving atomically.
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

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
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(fail)?;
    img.apply_orientation(orientation);
    Ok(img)
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

/// Decodes an image file to 8-bit RGB.
pub fn load_rgb(path: &Path) -> Result<image::RgbImage> {
    Ok(decode(path)?.to_rgb8())
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
    let fail = |e: &dyn std::fmt::Display| {
        crate::error::Error::Invalid(format!("{}: {e}", path.display()))
    };
    let format = image::ImageFormat::from_path(path).map_err(|e| fail(&e))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    if format == image::ImageFormat::Jpeg {
        // JPEG has no alpha and 8 bits: the grey or colour channels are written.
        let rgb = if img.color().has_color() {
            image::DynamicImage::ImageRgb8(img.to_rgb8())
        } else {
            image::DynamicImage::ImageLuma8(img.to_luma8())
        };
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, jpeg_quality);
        rgb.write_with_encoder(encoder).map_err(|e| fail(&e))?;
    } else {
        img.write_to(&mut bytes, format).map_err(|e| fail(&e))?;
    }
    crate::io::files::write_atomic(path, bytes.get_ref())
}
