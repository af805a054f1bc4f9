//! A camera's EXIF block and an ICC profile's header, written byte by
//! byte (shared by the unit tests of `raster::metadata` and the
//! integration tests).

/// Where `camera_exif` puts the offset of IFD1 (the thumbnail's).
pub const IFD1_POINTER: usize = 8 + 2 + 36;

/// An EXIF block as cameras write it: IFD0 with the orientation, the
/// make and a pointer to the Exif IFD (pixel dimensions, a
/// SHORT and a LONG), then IFD1 with a thumbnail of `thumbnail`'s bytes at the end.
pub fn camera_exif(big: bool, orientation: u16, thumbnail: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    let u16b = |v: u16| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    b.extend_from_slice(if big { b"MM\0*" } else { b"II*\0" });
    b.extend_from_slice(&u32b(8));
    let entry = |b: &mut Vec<u8>, tag: u16, ty: u16, count: u32, value: [u8; 4]| {
        b.extend_from_slice(&u16b(tag));
        b.extend_from_slice(&u16b(ty));
        b.extend_from_slice(&u32b(count));
        b.extend_from_slice(&value);
    };
    let short = |v: u16| {
        let s = u16b(v);
        [s[0], s[1], 0, 0]
    };
    // IFD0 at 8: 3 entries → 8 + 2 + 36 + 4 = 50; "Make" text at 50.
    let make = b"pconv-test-camera\0";
    let exif_ifd = 50 + make.len() as u32;
    b.extend_from_slice(&u16b(3));
    entry(&mut b, 0x010F, 2, make.len() as u32, u32b(50));
    entry(&mut b, 0x0112, 3, 1, short(orientation));
    entry(&mut b, 0x8769, 4, 1, u32b(exif_ifd));
    let ifd1 = exif_ifd + 2 + 24 + 4;
    b.extend_from_slice(&u32b(ifd1));
    b.extend_from_slice(make);
    // The Exif IFD: PixelXDimension 3, PixelYDimension 4.
    b.extend_from_slice(&u16b(2));
    entry(&mut b, 0xA002, 3, 1, short(4000));
    entry(&mut b, 0xA003, 4, 1, u32b(3000));
    b.extend_from_slice(&u32b(0));
    // IFD1: the thumbnail's offset and length; the bytes follow.
    let thumb_at = ifd1 + 2 + 24 + 4;
    b.extend_from_slice(&u16b(2));
    entry(&mut b, 0x0201, 4, 1, u32b(thumb_at));
    entry(&mut b, 0x0202, 4, 1, u32b(thumbnail.len() as u32));
    b.extend_from_slice(&u32b(0));
    b.extend_from_slice(thumbnail);
    b
}

/// An ICC profile for `space` ("RGB ", "GRAY", "CMYK"): a 128-byte header
/// naming it and an empty tag table, then `tag` to tell profiles apart.
pub fn icc_profile(space: &[u8; 4], tag: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 132];
    p[12..16].copy_from_slice(b"mntr");
    p[16..20].copy_from_slice(space);
    p[20..24].copy_from_slice(b"XYZ ");
    p[36..40].copy_from_slice(b"acsp");
    p.extend_from_slice(tag);
    let size = p.len() as u32;
    p[..4].copy_from_slice(&size.to_be_bytes());
    p
}

/// sRGB's red in Display P3, 8 bits (CSS Color 4: `color(display-p3
/// 0.9175 0.2003 0.1386)`).
pub const SRGB_RED_IN_P3: [u8; 3] = [234, 51, 35];

/// Writes a 24×16 Display P3 PNG: sRGB's red (in P3) left of x = 12, a
/// blue right of it.
pub fn write_p3_photo(path: &std::path::Path) {
    use image::ImageEncoder;
    let img = image::RgbImage::from_fn(24, 16, |x, _| {
        image::Rgb(if x < 12 {
            SRGB_RED_IN_P3
        } else {
            [40, 90, 200]
        })
    });
    let mut bytes = Vec::new();
    let mut e = image::codecs::png::PngEncoder::new(&mut bytes);
    e.set_icc_profile(moxcms::ColorProfile::new_display_p3().encode().unwrap())
        .unwrap();
    e.write_image(img.as_raw(), 24, 16, image::ExtendedColorType::Rgb8)
        .unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A whole PNG chunk of `kind` holding `data`, its checksum right.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let crc = crc32fast::hash(&c[4..]);
    c.extend_from_slice(&crc.to_be_bytes());
    c
}

/// `png` (a whole PNG file) with `chunks` put before its IEND chunk.
pub fn with_chunks(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let at = png.len() - 12;
    [&png[..at], &chunks.concat(), &png[at..]].concat()
}

/// Checks a saved result of `write_p3_photo`'s photo: every hole (`hole`)
/// within a level of the P3 red it was filled from, every other pixel as
/// `stored` has it.
pub fn assert_p3_fill(
    saved: &image::RgbImage,
    stored: &image::RgbImage,
    hole: impl Fn(u32, u32) -> bool,
) {
    for (x, y, p) in saved.enumerate_pixels() {
        if hole(x, y) {
            for c in 0..3 {
                let diff = (p[c] as i32 - SRGB_RED_IN_P3[c] as i32).abs();
                assert!(diff <= 1, "hole ({x}, {y}): {p:?}");
            }
        } else {
            assert_eq!(p, stored.get_pixel(x, y), "known pixel ({x}, {y})");
        }
    }
}
