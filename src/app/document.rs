//! What the app edits: the photo, the mask painted over it (with undo), and
//! the latest inpainted composite with the mask revision it answers. No
//! window needed, so scripted runs and tests drive it directly.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use image::{DynamicImage, RgbImage};

use super::mask_edit::MaskEditor;
use super::worker::{Composite, Finished, Request};
use crate::error::{Error, Result};
use crate::raster::colour::Profiled;
use crate::raster::files::decode_with_metadata;
use crate::raster::files::save_atomic;
use crate::raster::metadata::Metadata;
use crate::raster::photo::{self, Placement};
use crate::raster::planes::fit_mask;
use crate::raster::{HoleMap, Planes};

pub struct Document {
    /// Unique per opened photo: results are matched to their document.
    pub id: u64,
    /// Where the photo came from (names the default output).
    pub path: Option<PathBuf>,
    pub image: Arc<RgbImage>,
    /// The photo in its file's pixel format (16 bits, grey, alpha) and
    /// colour profile where that is not 8-bit sRGB, `image` being its
    /// 8-bit sRGB view: saving writes the result back into it
    /// (`photo::compose`).
    stored: Option<Arc<DynamicImage>>,
    /// The file's colour profile, EXIF block and PNG text, written with
    /// the result.
    metadata: Metadata,
    /// The conversions between the file's profile and sRGB, where it has
    /// one that is not sRGB.
    profiled: Option<Profiled>,
    pub editor: MaskEditor,
    /// The latest composite and the mask revision it was computed for.
    pub result: Option<(u64, Composite)>,
    /// Counts accepted results: a fit refreshes the result of one revision
    /// many times, and the canvas re-uploads on each.
    pub results_accepted: u64,
    /// What each "apply and continue" or "extend canvas" replaced, latest
    /// last.
    applied: Vec<Applied>,
    /// The document and mask revision last saved.
    saved: Option<(u64, u64)>,
}

/// What an "apply and continue" or "extend canvas" replaced.
enum Applied {
    /// An apply changes the holes and a feathered edge, all within
    /// `region`: the photo, stored photo and mask as they were there (a
    /// large photo's undo history holds what was removed, not copies of
    /// the photo).
    Filled {
        region: Region,
        image: RgbImage,
        stored: Option<DynamicImage>,
        mask: Vec<bool>,
    },
    /// An extend changes the size: everything as it was.
    Extended {
        image: Arc<RgbImage>,
        stored: Option<Arc<DynamicImage>>,
        mask: HoleMap,
    },
}

/// A rectangle of the photo.
#[derive(Clone, Copy, Debug)]
struct Region {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

impl Region {
    /// The smallest rectangle holding every hole of `holes` and every pixel
    /// where `a` and `b` differ; None when there is neither.
    fn of_change(a: &RgbImage, b: &RgbImage, holes: &HoleMap) -> Option<Self> {
        let w = a.width();
        let changed = a
            .pixels()
            .zip(b.pixels())
            .zip(&holes.holes)
            .enumerate()
            .filter(|(_, ((p, q), &hole))| hole || p != q)
            .map(|(i, _)| (i as u32 % w, i as u32 / w));
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        for (x, y) in changed {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        (x0 <= x1).then(|| Region {
            x: x0,
            y: y0,
            width: x1 - x0 + 1,
            height: y1 - y0 + 1,
        })
    }

    /// The mask's values inside the region, row by row.
    fn crop_mask(self, mask: &HoleMap) -> Vec<bool> {
        let rows = (self.y..self.y + self.height).map(|y| {
            let at = y as usize * mask.width + self.x as usize;
            &mask.holes[at..at + self.width as usize]
        });
        rows.flatten().copied().collect()
    }

    /// A `width`×`height` mask: `inside` in the region, no holes elsewhere.
    fn mask(self, width: usize, height: usize, inside: &[bool]) -> HoleMap {
        let mut holes = vec![false; width * height];
        for (row, values) in inside.chunks(self.width as usize).enumerate() {
            let at = (self.y as usize + row) * width + self.x as usize;
            holes[at..at + values.len()].copy_from_slice(values);
        }
        HoleMap {
            width,
            height,
            holes,
        }
    }
}

/// Pastes `src` into `dst` at (x, y), value for value (both of one pixel
/// format: `DynamicImage`'s own pasting goes through 8-bit RGBA).
fn paste(dst: &mut DynamicImage, src: &DynamicImage, x: u32, y: u32) {
    use image::imageops::replace;
    use DynamicImage as D;
    let (x, y) = (i64::from(x), i64::from(y));
    match (dst, src) {
        (D::ImageLuma8(d), D::ImageLuma8(s)) => replace(d, s, x, y),
        (D::ImageLumaA8(d), D::ImageLumaA8(s)) => replace(d, s, x, y),
        (D::ImageRgb8(d), D::ImageRgb8(s)) => replace(d, s, x, y),
        (D::ImageRgba8(d), D::ImageRgba8(s)) => replace(d, s, x, y),
        (D::ImageLuma16(d), D::ImageLuma16(s)) => replace(d, s, x, y),
        (D::ImageLumaA16(d), D::ImageLumaA16(s)) => replace(d, s, x, y),
        (D::ImageRgb16(d), D::ImageRgb16(s)) => replace(d, s, x, y),
        (D::ImageRgba16(d), D::ImageRgba16(s)) => replace(d, s, x, y),
        (D::ImageRgb32F(d), D::ImageRgb32F(s)) => replace(d, s, x, y),
        (D::ImageRgba32F(d), D::ImageRgba32F(s)) => replace(d, s, x, y),
        // `crop_imm` keeps the format and `compose` returns the stored
        // photo's, so the two match; were they not to, through RGBA.
        (d, s) => replace(d, s, x, y),
    }
}

fn next_id() -> u64 {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl Document {
    pub fn new(image: RgbImage, path: Option<PathBuf>) -> Self {
        Self::from_decoded(DynamicImage::ImageRgb8(image), path)
    }

    /// A document for a photo as decoded, in any pixel format.
    pub fn from_decoded(decoded: DynamicImage, path: Option<PathBuf>) -> Self {
        let (image, stored) = match decoded {
            DynamicImage::ImageRgb8(image) => (image, None),
            other => (other.to_rgb8(), Some(Arc::new(other))),
        };
        let editor = MaskEditor::new(image.width() as usize, image.height() as usize);
        Document {
            id: next_id(),
            path,
            image: Arc::new(image),
            stored,
            metadata: Metadata::default(),
            profiled: None,
            editor,
            result: None,
            results_accepted: 0,
            applied: Vec::new(),
            saved: None,
        }
    }

    /// "Apply and continue": the current result becomes the photo, with an
    /// empty mask, to remove the next thing from it. Results still on their
    /// way for the old photo are ignored (it counts as a new document).
    pub fn apply(&mut self) -> Result<()> {
        if !self.editor.mask().holes.iter().any(|&h| h) {
            return Err(Error::Invalid(
                "nothing to apply: the mask has no holes".into(),
            ));
        }
        let output = self.output().ok_or_else(|| {
            Error::Invalid("the inpainting for the current mask has not finished yet".into())
        })?;
        let filled = output.image()?.into_owned();
        let (w, h) = self.size();
        let stored = self.stored_as(
            &self.image,
            &filled,
            self.editor.mask(),
            Placement::default(),
        )?;
        let region = Region::of_change(&self.image, &filled, self.editor.mask())
            .ok_or_else(|| Error::Invalid("nothing to apply: the result changes nothing".into()))?;
        let Region {
            x,
            y,
            width,
            height,
        } = region;
        self.applied.push(Applied::Filled {
            region,
            image: image::imageops::crop_imm(&*self.image, x, y, width, height).to_image(),
            stored: self
                .stored
                .as_ref()
                .map(|s| s.crop_imm(x, y, width, height)),
            mask: region.crop_mask(self.editor.mask()),
        });
        self.stored = stored;
        self.image = Arc::new(filled);
        self.editor = MaskEditor::new(w, h);
        self.result = None;
        self.id = next_id();
        Ok(())
    }

    /// "Extend canvas" (outpainting): the photo on a canvas grown by
    /// `margins`, the new pixels holes beside the mask's own; undone by
    /// `unapply`.
    pub fn extend(&mut self, margins: crate::infer::extend::Margins) -> Result<()> {
        let (image, holes) = margins.extend(&self.image, self.editor.mask());
        let at = Placement {
            left: margins.left,
            top: margins.top,
        };
        let stored = self.stored_as(&image, &image, &holes, at)?;
        self.applied.push(Applied::Extended {
            image: self.image.clone(),
            stored: self.stored.clone(),
            mask: self.editor.mask().clone(),
        });
        self.stored = stored;
        self.image = Arc::new(image);
        self.editor = MaskEditor::from_mask(holes);
        self.result = None;
        self.id = next_id();
        Ok(())
    }

    /// The bytes the apply/extend history holds (an apply keeps what it
    /// changed, an extend the whole photo).
    pub fn history_bytes(&self) -> usize {
        let image = |i: &DynamicImage| i.as_bytes().len();
        self.applied
            .iter()
            .map(|a| match a {
                Applied::Filled {
                    image: view,
                    stored,
                    mask,
                    ..
                } => view.len() + stored.as_ref().map_or(0, image) + mask.len(),
                Applied::Extended {
                    image: view,
                    stored,
                    mask,
                } => view.len() + stored.as_deref().map_or(0, image) + mask.holes.len(),
            })
            .sum()
    }

    pub fn can_unapply(&self) -> bool {
        !self.applied.is_empty()
    }

    /// Undoes the last "apply" or "extend": the photo and mask as they were.
    pub fn unapply(&mut self) -> bool {
        let Some(applied) = self.applied.pop() else {
            return false;
        };
        match applied {
            Applied::Filled {
                region,
                image,
                stored,
                mask,
            } => {
                let (w, h) = self.size();
                let (x, y) = (region.x, region.y);
                image::imageops::replace(
                    Arc::make_mut(&mut self.image),
                    &image,
                    x.into(),
                    y.into(),
                );
                if let (Some(now), Some(before)) = (self.stored.as_mut(), stored) {
                    paste(Arc::make_mut(now), &before, x, y);
                }
                self.editor = MaskEditor::from_mask(region.mask(w, h, &mask));
            }
            Applied::Extended {
                image,
                stored,
                mask,
            } => {
                self.image = image;
                self.stored = stored;
                self.editor = MaskEditor::from_mask(mask);
            }
        }
        self.result = None;
        self.id = next_id();
        true
    }

    pub fn open(path: &Path) -> Result<Self> {
        let (decoded, metadata) = decode_with_metadata(path)?;
        let path = Some(path.to_path_buf());
        let mut doc = match Profiled::of(&metadata) {
            Some(profiled) => {
                let view = photo::srgb_view(&decoded, &metadata)?;
                let mut doc = Self::from_decoded(DynamicImage::ImageRgb8(view), path);
                doc.stored = Some(Arc::new(decoded));
                doc.profiled = Some(profiled);
                doc
            }
            None => Self::from_decoded(decoded, path),
        };
        doc.metadata = metadata;
        Ok(doc)
    }

    pub fn size(&self) -> (usize, usize) {
        (self.image.width() as usize, self.image.height() as usize)
    }

    /// The inpainting job for the current mask.
    pub fn request(&self) -> Request {
        Request {
            document: self.id,
            revision: self.editor.revision(),
            image: self.image.clone(),
            holes: self.editor.mask().clone(),
            feather: 0,
        }
    }

    /// Keeps a finished result unless a newer one is already shown or it
    /// belongs to another document (one opened before this one).
    pub fn accept(&mut self, finished: &Finished) -> std::result::Result<(), String> {
        if finished.document != self.id {
            return Ok(());
        }
        let newer = self
            .result
            .as_ref()
            .is_some_and(|(rev, _)| *rev > finished.revision);
        match &finished.result {
            Ok(composite) if !newer => {
                self.result = Some((finished.revision, composite.clone()));
                self.results_accepted += 1;
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e.clone()),
        }
    }

    /// True when the shown result answers the mask as it is now.
    pub fn result_is_current(&self) -> bool {
        self.result
            .as_ref()
            .is_some_and(|(rev, _)| *rev == self.editor.revision())
    }

    /// The image to save or show: the composite, or the photo when the
    /// mask has no holes.
    pub fn output(&self) -> Option<Composite> {
        if !self.editor.mask().holes.iter().any(|&h| h) {
            return Some(Composite::Image(self.image.clone()));
        }
        self.result
            .as_ref()
            .filter(|_| self.result_is_current())
            .map(|(_, c)| c.clone())
    }

    /// Saves the composite (PNG, JPEG, ... by extension), atomically, in
    /// the photo's own pixel format and with its colour profile and EXIF
    /// block, as far as the file's format holds them; what it cannot hold
    /// comes back as a note.
    pub fn save_result(&mut self, path: &Path) -> Result<Option<String>> {
        let output = self.output().ok_or_else(|| {
            Error::Invalid("the inpainting for the current mask has not finished yet".into())
        })?;
        let img = output.image()?.into_owned();
        let img =
            match self.stored_as(&self.image, &img, self.editor.mask(), Placement::default())? {
                Some(stored) => Arc::unwrap_or_clone(stored),
                None => DynamicImage::ImageRgb8(img),
            };
        let note = photo::save(
            img,
            path,
            crate::raster::files::JPEG_QUALITY,
            &self.metadata,
        )?;
        self.saved = Some((self.id, self.editor.revision()));
        Ok(note)
    }

    /// Holes painted, or a result applied or a canvas extended, since the
    /// result was last saved: what opening another photo would drop.
    pub fn has_unsaved_work(&self) -> bool {
        let edited = self.editor.mask().holes.contains(&true) || self.can_unapply();
        edited && self.saved != Some((self.id, self.editor.revision()))
    }

    /// `result` in the stored photo's pixel format and profile: `input`
    /// and `result` are 8-bit sRGB on a canvas where the photo sits at
    /// `at`, and the pixels `result` keeps as `input` has them, but
    /// `holes`, keep their stored values. None for an 8-bit sRGB photo.
    fn stored_as(
        &self,
        input: &RgbImage,
        result: &RgbImage,
        holes: &HoleMap,
        at: Placement,
    ) -> Result<Option<Arc<DynamicImage>>> {
        let Some(stored) = self.stored.as_ref() else {
            return Ok(None);
        };
        let (mut input, mut result) = (Planes::from_rgb(input), Planes::from_rgb(result));
        if let Some(p) = &self.profiled {
            // The same conversion of the same values: a pixel `result`
            // keeps as `input` has it still compares equal after it.
            p.from_srgb(&mut input)?;
            p.from_srgb(&mut result)?;
        }
        let composed = photo::compose(stored, at, &input, &result, holes);
        Ok(Some(Arc::new(composed)))
    }

    /// Saves the mask as a PNG (white = hole).
    pub fn save_mask(&self, path: &Path) -> Result<()> {
        save_atomic(
            &image::DynamicImage::ImageLuma8(self.editor.mask().to_image()),
            path,
        )
    }

    /// Replaces the mask by a PNG's (an undoable edit); a mask of another
    /// size is resized (nearest) only when `resize` is set.
    pub fn load_mask(&mut self, path: &Path, resize: bool) -> Result<()> {
        let (w, h) = self.size();
        let mask = fit_mask(HoleMap::read(path)?, w, h, resize)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        self.editor.load(&mask);
        Ok(())
    }

    /// `<stem><suffix>` beside the photo: the default result
    /// (`-inpainted.png`) and mask (`-mask.png`) files. Never into pconv's
    /// own `assets/` (the bundled samples): those go to the user's
    /// pictures folder, as does a photo without a path.
    pub fn beside(&self, suffix: &str) -> PathBuf {
        let stem = self
            .path
            .as_ref()
            .and_then(|p| p.file_stem())
            .map_or_else(|| "image".into(), |s| s.to_string_lossy().to_string());
        let name = format!("{stem}{suffix}");
        match &self.path {
            Some(p) if !crate::io::assets::contains(p) => p.with_file_name(name),
            _ => pictures_folder().join(name),
        }
    }
}

/// The user's pictures folder: `XDG_PICTURES_DIR`, else `~/Pictures` where
/// it exists, else the home folder, else the working folder.
pub fn pictures_folder() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = env("XDG_PICTURES_DIR").filter(|p| p.is_dir()) {
        return p;
    }
    let home = env("HOME").or_else(|| env("USERPROFILE"));
    match home {
        Some(h) if h.join("Pictures").is_dir() => h.join("Pictures"),
        Some(h) => h,
        None => PathBuf::from("."),
    }
}
