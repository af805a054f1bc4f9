//! A photo's colour profile (ICC) and EXIF metadata, carried from the file
//! read to the file written: without its profile a wide-gamut photo (a
//! phone's Display P3) is shown as sRGB, every pixel's colour shifted, and
//! without EXIF the camera, date and place are gone. The EXIF written
//! describes the result, not the original: orientation upright (the pixels
//! were turned on reading), no thumbnail (it would still show what was
//! removed), the pixel dimensions of the result.
use image::metadata::Orientation;
use image::ImageDecoder;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// The embedded ICC profile, as stored.
    pub icc: Option<Vec<u8>>,
    /// The EXIF block (a TIFF structure: "II*\0" or "MM\0*" first), as stored.
    pub exif: Option<Vec<u8>>,
    /// A PNG's text chunks (tEXt, zTXt, iTXt: a Stable Diffusion photo's
    /// generation parameters, a comment, the author), each whole as stored
    /// (length, type, data, CRC), for a PNG result. Not XMP: it can hold
    /// an orientation and sizes that no longer hold.
    pub png_text: Vec<Vec<u8>>,
    /// The stored pixels were turned a quarter to show them upright (EXIF
    /// orientation 5 to 8): a mask drawn on them as stored has its sides
    /// swapped.
    pub turned: bool,
}

impl Metadata {
    /// What `decoder` holds; a profile or block it cannot read counts as
    /// absent (it must not stop the photo from being inpainted).
    pub fn read<D: ImageDecoder>(decoder: &mut D) -> Self {
        let some =
            |v: image::ImageResult<Option<Vec<u8>>>| v.ok().flatten().filter(|b| !b.is_empty());
        Metadata {
            icc: some(decoder.icc_profile()),
            exif: some(decoder.exif_metadata()),
            png_text: Vec::new(),
            turned: false,
        }
    }

    /// The text chunks of the PNG file `bytes` (see `png_text`) whose
    /// checksum holds (a decoder may refuse a file with a broken one); none
    /// from a file that is no PNG, and none past a chunk whose length runs
    /// past the end.
    pub fn png_text_of(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let Some(mut rest) = bytes.strip_prefix(b"\x89PNG\r\n\x1a\n") else {
            return out;
        };
        while rest.len() >= 12 {
            let length = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let Some(chunk) = length.checked_add(12).and_then(|n| rest.get(..n)) else {
                break;
            };
            let kind = &chunk[4..8];
            let keyword = chunk[8..8 + length]
                .split(|&b| b == 0)
                .next()
                .unwrap_or(&[]);
            let crc = u32::from_be_bytes([
                chunk[length + 8],
                chunk[length + 9],
                chunk[length + 10],
                chunk[length + 11],
            ]);
            let text = matches!(kind, b"tEXt" | b"zTXt" | b"iTXt");
            if text
                && keyword != b"XML:com.adobe.xmp"
                && crc32fast::hash(&chunk[4..8 + length]) == crc
            {
                out.push(chunk.to_vec());
            }
            if kind == b"IEND" {
                break;
            }
            rest = &rest[chunk.len()..];
        }
        out
    }

    /// The EXIF block to write with a result `width`×`height` pixels large
    /// (see the module's comment); None without one.
    pub fn exif_for(&self, width: u32, height: u32) -> Option<Vec<u8>> {
        let mut exif = self.exif.clone()?;
        if exif.starts_with(b"Exif\0\0") {
            exif.drain(..6);
        }
        // A block that is no TIFF structure cannot be made to describe the
        // result (its orientation would turn the upright pixels again):
        // it is not written.
        Tiff::new(&mut exif)?;
        // Invalid or absent: nothing to clear, the block stays as it is.
        let _ = Orientation::remove_from_exif_chunk(&mut exif);
        let mut t = Tiff::new(&mut exif)?;
        t.drop_thumbnail();
        t.set_dimensions(width, height);
        Some(exif)
    }
}

/// TIFF tags the EXIF edit touches.
const EXIF_IFD: u16 = 0x8769;
const THUMBNAIL_OFFSET: u16 = 0x0201;
const THUMBNAIL_LENGTH: u16 = 0x0202;
const PIXEL_X: u16 = 0xA002;
const PIXEL_Y: u16 = 0xA003;
const SHORT: u16 = 3;
const LONG: u16 = 4;

/// An EXIF block read and edited in place; every offset in it is checked,
/// so a block made to mislead (offsets past its end, an IFD pointing at
/// itself) edits less, never panics.
struct Tiff<'a> {
    b: &'a mut [u8],
    big: bool,
}

/// One IFD: where its entries start and how many there are.
#[derive(Clone, Copy)]
struct Ifd {
    at: usize,
    count: usize,
}

impl Ifd {
    fn entry(self, i: usize) -> usize {
        self.at + 2 + 12 * i
    }

    /// Where the offset of the next IFD is stored.
    fn next(self) -> usize {
        self.entry(self.count)
    }
}

impl<'a> Tiff<'a> {
    fn new(b: &'a mut [u8]) -> Option<Self> {
        let big = match b.get(..4)? {
            [0x49, 0x49, 42, 0] => false,
            [0x4d, 0x4d, 0, 42] => true,
            _ => return None,
        };
        Some(Tiff { b, big })
    }

    /// The N bytes at `at`, most significant first.
    fn bytes_at<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        let mut v: [u8; N] = self.b.get(at..at.checked_add(N)?)?.try_into().ok()?;
        if !self.big {
            v.reverse();
        }
        Some(v)
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        self.bytes_at(at).map(u16::from_be_bytes)
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        self.bytes_at(at).map(u32::from_be_bytes)
    }

    /// Stores `v` (most significant first) at `at` where it fits.
    fn put<const N: usize>(&mut self, at: usize, mut v: [u8; N]) {
        if !self.big {
            v.reverse();
        }
        if let Some(dst) = at.checked_add(N).and_then(|end| self.b.get_mut(at..end)) {
            dst.copy_from_slice(&v);
        }
    }

    /// The IFD at `at`, when its entries and next pointer lie in the block.
    fn ifd(&self, at: usize) -> Option<Ifd> {
        let count = usize::from(self.u16_at(at)?);
        let ifd = Ifd { at, count };
        (ifd.next().checked_add(4)? <= self.b.len()).then_some(ifd)
    }

    fn ifd0(&self) -> Option<Ifd> {
        self.ifd(self.u32_at(4)? as usize)
    }

    /// The entry of `tag` in `ifd`: (its type, its count, where its value
    /// field is).
    fn find(&self, ifd: Ifd, tag: u16) -> Option<(u16, u32, usize)> {
        (0..ifd.count).find_map(|i| {
            let e = ifd.entry(i);
            (self.u16_at(e)? == tag).then_some((self.u16_at(e + 2)?, self.u32_at(e + 4)?, e + 8))
        })
    }

    /// A single SHORT or LONG value of `tag` in `ifd`.
    fn number(&self, ifd: Ifd, tag: u16) -> Option<u32> {
        match self.find(ifd, tag)? {
            (SHORT, 1, at) => self.u16_at(at).map(u32::from),
            (LONG, 1, at) => self.u32_at(at),
            _ => None,
        }
    }

    /// Unlinks IFD1 (the thumbnail's) and blanks the thumbnail's bytes and
    /// its entries, so no reader finds the old picture in the file.
    fn drop_thumbnail(&mut self) {
        let Some(ifd0) = self.ifd0() else { return };
        let next = self.u32_at(ifd0.next()).unwrap_or(0) as usize;
        if next == 0 {
            return;
        }
        self.put(ifd0.next(), 0u32.to_be_bytes());
        let Some(ifd1) = self.ifd(next) else { return };
        if ifd1.at == ifd0.at {
            return;
        }
        let offset = self.number(ifd1, THUMBNAIL_OFFSET);
        let length = self.number(ifd1, THUMBNAIL_LENGTH);
        if let (Some(offset), Some(length)) = (offset, length) {
            let (offset, length) = (offset as usize, length as usize);
            // Only within the block, and never over IFD0.
            let end = offset.saturating_add(length).min(self.b.len());
            let ifd0_end = ifd0.next() + 4;
            if offset < end && (end <= ifd0.at || offset >= ifd0_end) {
                self.b[offset..end].fill(0);
            }
        }
        let end = ifd1.next() + 4;
        self.b[ifd1.at..end].fill(0);
    }

    /// The Exif IFD's pixel dimensions, where present, set to the result's
    /// (in the tag's own type; a SHORT keeps its value past 65,535).
    fn set_dimensions(&mut self, width: u32, height: u32) {
        let Some(ifd0) = self.ifd0() else { return };
        let Some(exif) = self.number(ifd0, EXIF_IFD) else {
            return;
        };
        let Some(exif) = self.ifd(exif as usize) else {
            return;
        };
        for (tag, v) in [(PIXEL_X, width), (PIXEL_Y, height)] {
            match self.find(exif, tag) {
                Some((SHORT, 1, at)) => {
                    if let Ok(v) = u16::try_from(v) {
                        self.put(at, v.to_be_bytes());
                    }
                }
                Some((LONG, 1, at)) => {
                    self.put(at, v.to_be_bytes());
                }
                _ => {}
            }
        }
    }
}

// The integration tests' builders; those for other tests go unused here.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../tests/common/photo_metadata.rs"]
mod test_exif;

#[cfg(test)]
mod tests {
    use super::*;
    use test_exif::{camera_exif, png_chunk, with_chunks, IFD1_POINTER};

    fn read(exif: &mut [u8]) -> (Option<u32>, Option<u32>, Option<u32>, u32) {
        let t = Tiff::new(exif).unwrap();
        let ifd0 = t.ifd0().unwrap();
        let exif_ifd = t.ifd(t.number(ifd0, EXIF_IFD).unwrap() as usize).unwrap();
        (
            t.number(ifd0, 0x0112),
            t.number(exif_ifd, PIXEL_X),
            t.number(exif_ifd, PIXEL_Y),
            t.u32_at(ifd0.next()).unwrap(),
        )
    }

    #[test]
    fn the_written_exif_describes_the_result() {
        let thumb = b"THUMBNAIL-OF-THE-ORIGINAL";
        for big in [false, true] {
            let mut original = camera_exif(big, 6, thumb);
            assert_eq!(read(&mut original), (Some(6), Some(4000), Some(3000), 98));
            let meta = Metadata {
                exif: Some(original.clone()),
                ..Metadata::default()
            };
            let mut out = meta.exif_for(300, 70_000).unwrap();
            assert_eq!(out.len(), original.len());
            // Upright, no next IFD, the LONG height set and the SHORT
            // width kept (70,000 does not fit; 300 goes to the other).
            assert_eq!(read(&mut out), (Some(1), Some(300), Some(70_000), 0));
            let has = |b: &[u8], s: &[u8]| b.windows(s.len()).any(|w| w == s);
            assert!(has(&original, thumb) && !has(&out, thumb));
            // The rest is as stored: the camera's make.
            assert!(has(&out, b"pconv-test-camera"));
            let mut wide = meta.exif_for(70_000, 20).unwrap();
            assert_eq!(read(&mut wide), (Some(1), Some(4000), Some(20), 0));
        }
    }

    #[test]
    fn a_pngs_intact_text_chunks_are_kept_but_xmp() {
        let mut png = Vec::new();
        image::RgbImage::new(3, 2)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let parameters = png_chunk(b"tEXt", b"parameters\0steps: 20, seed: 7");
        let comment = png_chunk(b"zTXt", b"Comment\0\0x\x9c\x03\0\0\0\0\x01");
        let xmp = png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>");
        let mut broken = png_chunk(b"tEXt", b"Author\0someone");
        *broken.last_mut().unwrap() ^= 1;
        let file = with_chunks(&png, &[parameters.clone(), broken, xmp, comment.clone()]);
        assert_eq!(Metadata::png_text_of(&file), vec![parameters, comment]);
        // Every cut of the file: the chunks whole before the cut, no panic.
        for n in 0..file.len() {
            assert!(Metadata::png_text_of(&file[..n]).len() <= 2);
        }
        assert!(Metadata::png_text_of(b"GIF89a").is_empty());
    }

    #[test]
    fn a_misleading_exif_block_edits_less_and_never_panics() {
        let good = camera_exif(false, 3, b"thumb");
        let meta = |exif: Vec<u8>| Metadata {
            exif: Some(exif),
            ..Metadata::default()
        };
        // Every truncation, and every byte of it set to 0xFF in turn (offsets
        // and counts past the end, an IFD pointing at itself or at IFD0).
        for n in 0..good.len() {
            let _ = meta(good[..n].to_vec()).exif_for(10, 10);
            let mut bad = good.clone();
            bad[n] = 0xFF;
            let _ = meta(bad).exif_for(10, 10);
        }
        let mut looped = good.clone();
        looped[IFD1_POINTER..IFD1_POINTER + 4].copy_from_slice(&8u32.to_le_bytes());
        let out = meta(looped).exif_for(10, 10).unwrap();
        assert_eq!(out[8..10], good[8..10], "IFD0 itself is not blanked");
        assert_eq!(meta(b"not exif".to_vec()).exif_for(1, 1), None);
        let mut headed = b"Exif\0\0".to_vec();
        headed.extend_from_slice(&good);
        let mut out = meta(headed).exif_for(10, 10).unwrap();
        assert_eq!(read(&mut out), (Some(1), Some(10), Some(10), 0));
    }
}
