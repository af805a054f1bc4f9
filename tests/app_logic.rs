//! The app's mask editing (brush, eraser, clear, invert, load, undo/redo)
//! and view transform (zoom around the cursor, pan, fit), without a window.
mod common;

use pconv::app::mask_edit::{MaskEditor, Selection, Tool};
use pconv::app::view::{View, MAX_ZOOM};
use pconv::raster::HoleMap;

fn count(e: &MaskEditor) -> usize {
    e.mask().holes.iter().filter(|&&h| h).count()
}

#[test]
fn brush_paints_a_round_capped_stroke_and_the_eraser_removes_it() {
    let mut e = MaskEditor::new(40, 30);
    e.begin_stroke(Tool::Brush, 3.0, 5.0, 15.0);
    e.stroke_to(35.0, 15.0);
    e.end_stroke();
    let m = e.mask().clone();
    // Covered along the segment, not beyond its caps or its radius.
    for x in 5..35 {
        assert!(m.holes[15 * 40 + x], "({x}, 15)");
    }
    assert!(!m.holes[15 * 40 + 39]);
    assert!(!m.holes[10 * 40 + 20]);
    let painted = count(&e);
    assert!((30 * 6..=37 * 7).contains(&painted), "{painted}");
    // Strokes reaching outside the image are clipped, not a panic.
    e.begin_stroke(Tool::Brush, 5.0, -10.0, -10.0);
    e.stroke_to(2.0, 2.0);
    e.end_stroke();
    assert!(e.mask().holes[0]);
    // The eraser takes holes away.
    e.begin_stroke(Tool::Eraser, 4.0, 20.0, 15.0);
    e.end_stroke();
    assert!(!e.mask().holes[15 * 40 + 20]);
    assert!(e.mask().holes[15 * 40 + 10]);
}

#[test]
fn every_edit_undoes_and_redoes_exactly() {
    let mut e = MaskEditor::new(20, 20);
    let mut states = vec![e.mask().clone()];
    e.begin_stroke(Tool::Brush, 2.0, 3.0, 3.0);
    e.stroke_to(15.0, 12.0);
    e.end_stroke();
    states.push(e.mask().clone());
    e.begin_stroke(Tool::Eraser, 3.0, 9.0, 7.0);
    e.end_stroke();
    states.push(e.mask().clone());
    e.invert();
    states.push(e.mask().clone());
    e.load(&HoleMap {
        width: 10,
        height: 10,
        holes: (0..100).map(|i| i % 10 < 5).collect(),
    });
    states.push(e.mask().clone());
    assert_eq!(count(&e), 200, "a 10x10 mask loaded onto 20x20, resized");
    e.clear();
    states.push(e.mask().clone());
    assert_eq!(count(&e), 0);
    for i in (0..states.len() - 1).rev() {
        assert!(e.undo());
        assert_eq!(e.mask(), &states[i], "undo to state {i}");
    }
    assert!(!e.undo() && !e.can_undo());
    for (i, state) in states.iter().enumerate().skip(1) {
        assert!(e.redo());
        assert_eq!(e.mask(), state, "redo to state {i}");
    }
    assert!(!e.redo());
    // A new edit after undo drops the redo history.
    e.undo();
    e.begin_stroke(Tool::Brush, 1.0, 15.0, 5.0);
    e.end_stroke();
    assert!(!e.can_redo());
    // Edits that change nothing add no undo step.
    let before = e.revision();
    let holes_before = count(&e);
    e.begin_stroke(Tool::Eraser, 1.0, 19.0, 19.0);
    e.end_stroke();
    e.clear();
    e.clear();
    e.undo();
    assert_eq!(
        count(&e),
        holes_before,
        "one undo reverts the first clear: the second clear and the no-op erase made no step"
    );
    assert!(e.revision() > before);
}

#[test]
fn zoom_keeps_the_point_under_the_cursor_and_fit_centres() {
    let v = View::fit((400.0, 200.0), (800.0, 800.0));
    assert_eq!(v.zoom, 2.0);
    assert_eq!(v.offset, (0.0, 200.0));
    assert_eq!(v.image_to_screen((200.0, 100.0)), (400.0, 400.0));
    let mut z = v;
    let cursor = (123.0, 456.0);
    let under = z.screen_to_image(cursor);
    z.zoom_at(cursor, 1.5);
    let after = z.screen_to_image(cursor);
    assert!((under.0 - after.0).abs() < 1e-3 && (under.1 - after.1).abs() < 1e-3);
    assert_eq!(z.zoom, 3.0);
    for _ in 0..50 {
        z.zoom_at(cursor, 2.0);
    }
    assert_eq!(z.zoom, MAX_ZOOM);
    let mut p = v;
    p.pan((10.0, -5.0));
    assert_eq!(p.screen_to_image((10.0, 195.0)), (0.0, 0.0));
}

mod document_and_worker {
    use pconv::app::document::Document;
    use pconv::app::mask_edit::Tool;
    use pconv::app::worker::Inpainter;
    use pconv::infer::Method;
    use std::time::Duration;

    /// A worker filling with Telea (radius 3): quick and deterministic.
    fn telea() -> Inpainter {
        Inpainter::start(
            Method::Classical {
                method: pconv::infer::Classical::Telea,
                radius: 3,
            },
            false,
        )
    }

    /// One brush dab of `radius` at (x, y), and its fill.
    fn dab_and_fill(doc: &mut Document, worker: &mut Inpainter, radius: f32, x: f32, y: f32) {
        doc.editor.begin_stroke(Tool::Brush, radius, x, y);
        doc.editor.end_stroke();
        fill(doc, worker);
    }

    fn fill(doc: &mut Document, worker: &mut Inpainter) {
        worker.request(doc.request());
        doc.accept(&worker.wait().expect("a result")).unwrap();
    }

    fn photo() -> image::RgbImage {
        image::RgbImage::from_fn(48, 40, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 6) as u8, ((x ^ y) * 9) as u8])
        })
    }

    #[test]
    fn strokes_are_inpainted_off_thread_and_saved_with_known_pixels_kept() {
        let dir = crate::common::Scratch::new("doc");
        let mut doc = Document::new(photo(), Some(dir.join("photo.png")));
        assert_eq!(
            doc.beside("-inpainted.png"),
            dir.join("photo-inpainted.png")
        );
        // Never into pconv's own assets (the bundled samples), nor beside
        // a photo without a path: the user's pictures folder.
        let pictures = pconv::app::document::pictures_folder();
        assert_eq!(
            Document::new(photo(), None).beside("-mask.png"),
            pictures.join("image-mask.png")
        );
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/samples/astronaut-face.png");
        assert_eq!(
            Document::new(photo(), Some(sample)).beside("-inpainted.png"),
            pictures.join("astronaut-face-inpainted.png")
        );
        // A user's own folder that happens to be named assets is theirs.
        let own = dir.join("assets");
        std::fs::create_dir_all(&own).unwrap();
        photo().save(own.join("mine.png")).unwrap();
        assert_eq!(
            Document::new(photo(), Some(own.join("mine.png"))).beside("-mask.png"),
            own.join("mine-mask.png")
        );
        // No holes: the photo itself is the output.
        let output = doc.output().expect("the photo");
        assert_eq!(&*output.image().unwrap(), &*doc.image);

        let mut worker = telea();
        doc.editor.begin_stroke(Tool::Brush, 3.0, 10.0, 20.0);
        doc.editor.stroke_to(30.0, 20.0);
        doc.editor.end_stroke();
        assert!(doc.output().is_none(), "no result for the new mask yet");
        let out = dir.join("out.png");
        assert!(doc.save_result(&out).is_err());
        // Two requests in a burst: both answered, the newest result kept.
        worker.request(doc.request());
        doc.editor.begin_stroke(Tool::Eraser, 2.0, 20.0, 20.0);
        doc.editor.end_stroke();
        worker.request(doc.request());
        assert!(worker.busy());
        assert!(
            !worker.idle_for(Duration::ZERO),
            "busy: no update while drawing"
        );
        let done = worker.wait().expect("a result");
        assert!(!worker.busy());
        assert!(worker.idle_for(Duration::ZERO));
        assert!(
            !worker.idle_for(Duration::from_secs(3600)),
            "the last request is recent: the next update while drawing waits"
        );
        assert_eq!(done.revision, doc.editor.revision());
        assert_eq!(done.method, "telea");
        doc.accept(&done).unwrap();
        assert!(doc.result_is_current());
        doc.save_result(&out).unwrap();
        let saved = image::open(&out).unwrap().to_rgb8();
        let mask = doc.editor.mask();
        let mut changed = 0;
        for (x, y, p) in saved.enumerate_pixels() {
            let hole = mask.holes[(y * 48 + x) as usize];
            if !hole {
                assert_eq!(p, doc.image.get_pixel(x, y), "known pixel ({x}, {y})");
            } else if p != doc.image.get_pixel(x, y) {
                changed += 1;
            }
        }
        assert!(changed > 10, "{changed} hole pixels changed");
        // An older result never replaces a newer one.
        let mut old = done;
        old.revision -= 1;
        doc.accept(&old).unwrap();
        assert!(doc.result_is_current());
        // Nor does one computed for another photo.
        let mut other = Document::new(photo(), None);
        old.revision = other.editor.revision();
        doc.accept(&old).unwrap();
        other.accept(&old).unwrap();
        assert!(other.result.is_none(), "a result for another document");

        // "Apply and continue": the result is the photo, the mask empty, and
        // a result still on its way for the old photo is ignored.
        let filled = doc.output().unwrap().image().unwrap().into_owned();
        let (photo_before, mask_before) = (doc.image.clone(), doc.editor.mask().clone());
        doc.apply().unwrap();
        assert_eq!(&*doc.image, &filled);
        assert!(doc.editor.mask().holes.iter().all(|&h| !h));
        assert_eq!(old.revision, doc.editor.revision());
        doc.accept(&old).unwrap();
        assert!(
            doc.result.is_none(),
            "a result for the photo before the apply"
        );
        assert!(doc.apply().unwrap_err().to_string().contains("no holes"));
        assert!(doc.unapply());
        assert_eq!(
            (&*doc.image, doc.editor.mask()),
            (&*photo_before, &mask_before)
        );
        assert!(!doc.unapply());
        // "Extend canvas": the photo framed by holes, the mask's own kept.
        let (w, h) = doc.size();
        doc.extend(pconv::infer::extend::Margins {
            left: 3,
            top: 2,
            right: 1,
            bottom: 4,
        })
        .unwrap();
        assert_eq!(doc.size(), (w + 4, h + 6));
        let m = doc.editor.mask();
        assert!(
            m.holes[0] && m.holes[(h + 5) * (w + 4) + w + 3],
            "the new border"
        );
        for y in 0..h {
            for x in 0..w {
                assert_eq!(
                    m.holes[(y + 2) * (w + 4) + x + 3],
                    mask_before.holes[y * w + x]
                );
                let (sx, sy) = (x as u32, y as u32);
                assert_eq!(
                    doc.image.get_pixel(sx + 3, sy + 2),
                    photo_before.get_pixel(sx, sy)
                );
            }
        }
        assert!(doc.unapply());
        assert_eq!(doc.size(), (w, h));

        // Masks: saved as white = hole, loaded back (resized on request).
        let mpath = dir.join("mask.png");
        doc.save_mask(&mpath).unwrap();
        let before = doc.editor.mask().clone();
        doc.editor.clear();
        doc.load_mask(&mpath, false).unwrap();
        assert_eq!(doc.editor.mask(), &before);
        image::GrayImage::new(10, 10)
            .save(dir.join("small.png"))
            .unwrap();
        let err = doc.load_mask(&dir.join("small.png"), false).unwrap_err();
        assert!(err.to_string().contains("10x10"), "{err}");
        doc.load_mask(&dir.join("small.png"), true).unwrap();
        assert!(doc.editor.mask().holes.iter().all(|&h| !h));
    }

    /// Unsaved work is holes painted or a result applied since the last
    /// save; opening another photo or closing warns once before dropping it.
    #[test]
    fn unsaved_holes_are_not_dropped_at_the_first_open() {
        use pconv::app::folder::UnsavedGuard;
        let dir = crate::common::Scratch::new("unsaved");
        let mut doc = Document::new(photo(), Some(dir.join("photo.png")));
        assert!(!doc.has_unsaved_work(), "a fresh photo");
        let mut worker = telea();
        let mut paint = |doc: &mut Document, x: f32| dab_and_fill(doc, &mut worker, 3.0, x, 20.0);
        paint(&mut doc, 10.0);
        assert!(doc.has_unsaved_work());
        let out = dir.join("out.png");
        let (other, third) = ("open other.png", "open third.png");
        let mut guard = UnsavedGuard::default();
        assert!(!guard.allow(doc.has_unsaved_work(), other), "warned");
        assert!(
            !guard.allow(doc.has_unsaved_work(), third),
            "another photo: warned again"
        );
        assert!(guard.allow(doc.has_unsaved_work(), third));
        assert!(!guard.allow(doc.has_unsaved_work(), "close"), "warned");
        assert!(guard.allow(doc.has_unsaved_work(), "close"));
        doc.save_result(&out).unwrap();
        assert!(!doc.has_unsaved_work(), "saved");
        assert!(guard.allow(doc.has_unsaved_work(), other));
        paint(&mut doc, 30.0);
        assert!(doc.has_unsaved_work(), "painted after the save");
        doc.apply().unwrap();
        assert!(doc.has_unsaved_work(), "applied: the photo changed");
        doc.save_result(&out).unwrap();
        assert!(!doc.has_unsaved_work());
        assert!(doc.unapply());
        doc.editor.clear();
        assert!(!doc.has_unsaved_work(), "nothing painted, nothing applied");
    }

    /// A 16-bit grey photo with transparency, through apply, extend and
    /// save: the saved result is 16-bit grey with alpha, every pixel never
    /// under a hole keeps its stored value and alpha, filled pixels are
    /// opaque; a JPEG says what it cannot hold.
    #[test]
    fn a_16_bit_grey_photo_is_saved_as_one() {
        let dir = crate::common::Scratch::new("doc16");
        let (w, h) = (40u32, 30u32);
        // Values between the 8-bit levels, and a transparent corner.
        let original = image::ImageBuffer::<image::LumaA<u16>, _>::from_fn(w, h, |x, y| {
            image::LumaA([
                (x * 1000 + y * 37 + 5) as u16,
                if x + y < 6 { 0 } else { 65535 },
            ])
        });
        let path = dir.join("scan.png");
        original.save(&path).unwrap();
        let mut doc = Document::open(&path).unwrap();
        let mut worker = Inpainter::start(
            Method::Classical {
                method: pconv::infer::Classical::Biharmonic,
                radius: 3,
            },
            false,
        );
        let mut fill = |doc: &mut Document| {
            worker.request(doc.request());
            doc.accept(&worker.wait().expect("a result")).unwrap();
        };
        let paint = |doc: &mut Document, x: f32, ever: &mut Vec<bool>| {
            doc.editor.begin_stroke(Tool::Brush, 3.0, x, 12.0);
            doc.editor.end_stroke();
            for (e, &hole) in ever.iter_mut().zip(&doc.editor.mask().holes) {
                *e |= hole;
            }
        };
        let mut ever_hole = vec![false; (w * h) as usize];
        paint(&mut doc, 10.0, &mut ever_hole);
        fill(&mut doc);
        doc.apply().unwrap();
        // The canvas grows by 2 px on the left and 1 on top.
        let (cw, ch) = (w + 2, h + 1);
        doc.extend(pconv::infer::extend::Margins {
            left: 2,
            top: 1,
            right: 0,
            bottom: 0,
        })
        .unwrap();
        let mut ever_hole: Vec<bool> = (0..cw * ch)
            .map(|i| {
                let (x, y) = (i % cw, i / cw);
                x < 2 || y < 1 || ever_hole[((y - 1) * w + x - 2) as usize]
            })
            .collect();
        paint(&mut doc, 25.0, &mut ever_hole);
        fill(&mut doc);
        let out = dir.join("out.png");
        assert_eq!(doc.save_result(&out).unwrap(), None);
        let saved = image::open(&out).unwrap();
        let saved = saved.as_luma_alpha16().expect("16-bit grey with alpha");
        assert_eq!(saved.dimensions(), (cw, ch));
        let mut between_levels = 0;
        for (x, y, p) in saved.enumerate_pixels() {
            if ever_hole[(y * cw + x) as usize] {
                assert_eq!(p[1], 65535, "a filled pixel is opaque ({x}, {y})");
                between_levels += usize::from(p[0] % 257 != 0);
            } else {
                assert_eq!(
                    p,
                    original.get_pixel(x - 2, y - 1),
                    "known pixel ({x}, {y})"
                );
            }
        }
        // The fill is made from the 8-bit view: its levels, scaled.
        assert_eq!(between_levels, 0);
        let note = doc.save_result(&dir.join("out.jpg")).unwrap();
        assert!(
            note.as_deref().is_some_and(
                |n| n.contains("16 bits a channel become 8") && n.contains("transparency")
            ),
            "{note:?}"
        );
    }

    /// "Apply and continue" keeps what it changed, not copies of the
    /// photo, and undoing two applies gives back every stored value.
    #[test]
    fn applies_keep_what_they_changed_and_undo_exactly() {
        let dir = crate::common::Scratch::new("doc-history");
        let (w, h) = (300u32, 200u32);
        let original = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 211 + y) as u16,
                (y * 317) as u16,
                ((x ^ y) * 97) as u16,
            ])
        });
        let path = dir.join("scan.png");
        original.save(&path).unwrap();
        let mut doc = Document::open(&path).unwrap();
        let view = doc.image.clone();
        let mut worker = telea();
        dab_and_fill(&mut doc, &mut worker, 4.0, 50.0, 60.0);
        doc.apply().unwrap();
        dab_and_fill(&mut doc, &mut worker, 4.0, 200.0, 150.0);
        let second_mask = doc.editor.mask().clone();
        doc.apply().unwrap();
        // A photo's worth: 8-bit view, 16-bit stored photo and mask.
        let photo_bytes = (w * h * (3 + 6 + 1)) as usize;
        assert!(
            doc.history_bytes() < photo_bytes / 100,
            "{} bytes of history for a {photo_bytes}-byte photo",
            doc.history_bytes()
        );
        assert!(doc.unapply());
        assert_eq!(doc.editor.mask(), &second_mask);
        assert!(doc.unapply() && !doc.unapply());
        assert_eq!(&*doc.image, &*view);
        assert!(doc.editor.mask().holes.iter().any(|&h| h));
        doc.editor.clear();
        let out = dir.join("out.png");
        doc.save_result(&out).unwrap();
        let saved = image::open(&out).unwrap();
        assert_eq!(saved.as_rgb16().expect("16-bit RGB"), &original);
    }

    /// A Display P3 photo is shown and filled in sRGB, and saved in P3.
    #[test]
    fn a_wide_gamut_photo_is_shown_in_srgb_and_saved_in_its_profile() {
        use crate::common::photo_metadata::{assert_p3_fill, write_p3_photo};
        let dir = crate::common::Scratch::new("doc-p3");
        let photo = dir.join("p3.png");
        write_p3_photo(&photo);
        let mut doc = Document::open(&photo).unwrap();
        let shown = *doc.image.get_pixel(3, 3);
        assert!(
            shown[0] >= 254 && shown[1] <= 1 && shown[2] <= 1,
            "sRGB red on screen: {shown:?}"
        );
        let mut worker = telea();
        dab_and_fill(&mut doc, &mut worker, 2.0, 5.0, 8.0);
        let out = dir.join("out.png");
        doc.save_result(&out).unwrap();
        let (saved, stored) = (
            image::open(&out).unwrap().to_rgb8(),
            image::open(&photo).unwrap().to_rgb8(),
        );
        let holes = doc.editor.mask();
        assert!(holes.holes.contains(&true));
        assert_p3_fill(&saved, &stored, |x, y| holes.holes[(y * 24 + x) as usize]);
    }

    /// Through an apply and a canvas extension, the saved result keeps
    /// the photo's colour profile and EXIF block, which gives the grown
    /// size.
    #[test]
    fn a_photos_profile_and_exif_survive_apply_and_extend() {
        use image::{ImageDecoder, ImageEncoder};
        let dir = crate::common::Scratch::new("doc-metadata");
        let photo = dir.join("phone.jpg");
        let icc = crate::common::photo_metadata::icc_profile(b"RGB ", b"app");
        let mut bytes = Vec::new();
        let mut e = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90);
        e.set_icc_profile(icc.clone()).unwrap();
        e.set_exif_metadata(crate::common::photo_metadata::camera_exif(
            true, 1, b"thumb",
        ))
        .unwrap();
        image::RgbImage::from_fn(30, 20, |x, y| {
            image::Rgb([(x * 8) as u8, (y * 12) as u8, 90])
        })
        .write_with_encoder(e)
        .unwrap();
        std::fs::write(&photo, &bytes).unwrap();
        let mut doc = Document::open(&photo).unwrap();
        let mut worker = telea();
        dab_and_fill(&mut doc, &mut worker, 3.0, 10.0, 10.0);
        doc.apply().unwrap();
        doc.extend(pconv::infer::extend::Margins {
            left: 3,
            top: 0,
            right: 0,
            bottom: 2,
        })
        .unwrap();
        fill(&mut doc, &mut worker);
        let out = dir.join("out.png");
        assert_eq!(doc.save_result(&out).unwrap(), None);
        let mut dec = image::codecs::png::PngDecoder::new(std::io::BufReader::new(
            std::fs::File::open(&out).unwrap(),
        ))
        .unwrap();
        assert_eq!(dec.icc_profile().unwrap(), Some(icc));
        let exif = dec.exif_metadata().unwrap().expect("EXIF");
        // The Exif IFD's PixelYDimension (a LONG, big-endian) is the
        // grown height.
        let tag = [0xA0, 0x03, 0, 4, 0, 0, 0, 1, 0, 0, 0, 22];
        assert!(exif.windows(12).any(|w| w == tag), "{exif:?}");
    }
}

/// Page Down / Page Up step through the photos of a folder by name: image
/// files only (any case of extension), not the app's own results and
/// masks, nor folders or pipes; nothing past either end.
#[test]
fn stepping_through_a_folder_skips_what_is_not_a_photo() {
    use pconv::app::folder::{photos_beside, step_from};
    let dir = common::Scratch::new("folder-step");
    for name in [
        "a.png",
        "b.jpg",
        "c.PNG",
        "a-inpainted.png",
        "a-mask.png",
        "notes.txt",
    ] {
        std::fs::write(dir.join(name), b"x").unwrap();
    }
    std::fs::create_dir(dir.join("sub.png")).unwrap();
    let fifo = dir.join("pipe.png");
    common::mkfifo(&fifo);
    let (a, b, c) = (dir.join("a.png"), dir.join("b.jpg"), dir.join("c.PNG"));
    assert_eq!(photos_beside(&a), vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(step_from(&a, 1), Some(b.clone()));
    assert_eq!(step_from(&b, 1), Some(c.clone()));
    assert_eq!(step_from(&c, 1), None);
    assert_eq!(step_from(&b, -1), Some(a.clone()));
    assert_eq!(step_from(&a, -1), None);
    // A photo no longer there (or a result): forward starts at the first.
    assert_eq!(step_from(&dir.join("gone.png"), 1), Some(a));
    assert_eq!(step_from(&dir.join("gone.png"), -1), None);
}

/// The magic wand: a click selects the pixels connected to it (diagonals
/// too) whose colour is within the tolerance of the clicked pixel's, added
/// to the holes there are, as one undo step; nothing outside the image.
#[test]
fn the_magic_wand_selects_the_connected_pixels_of_a_colour() {
    let (w, h) = (40usize, 30usize);
    let disc = |x: usize, y: usize, cx: f32| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - 12.5);
        dx * dx + dy * dy <= 25.0
    };
    let diagonal = |x: usize, y: usize| (20..28).contains(&x) && y == x;
    // Two red discs (each pixel up to 10 levels off) apart on a
    // blue-grey texture, and a red diagonal line.
    let image = image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        let n = ((x * 7 + y * 13) % 11) as u8;
        if disc(x, y, 10.5) || disc(x, y, 32.5) || diagonal(x, y) {
            image::Rgb([200 + n % 6, 30 + n, 25 + n % 4])
        } else {
            image::Rgb([60 + 3 * n, 70 + 2 * n, 160])
        }
    });
    let mut e = MaskEditor::new(w, h);
    e.begin_stroke(Tool::Brush, 1.0, 2.5, 27.5);
    e.end_stroke();
    let painted = e.mask().clone();
    // The wand does nothing through the pointer-press path (no image there).
    e.press(Tool::Wand, 5.0, 10.5, 12.5, Selection::Add);
    assert_eq!(e.mask(), &painted);
    let seed = *image.get_pixel(10, 12);
    let want = |x: usize, y: usize| disc(x, y, 10.5);
    let added = e.select_similar(&image, 10.5, 12.5, 24, Selection::Add);
    assert_eq!(added, (0..w * h).filter(|&i| want(i % w, i / w)).count());
    for i in 0..w * h {
        let (x, y) = (i % w, i / w);
        assert_eq!(
            e.mask().holes[i],
            want(x, y) || painted.holes[i],
            "({x}, {y})"
        );
    }
    // One undo step back to the painted mask, and redone.
    assert!(e.undo());
    assert_eq!(e.mask(), &painted);
    assert!(e.redo());
    // A tolerance below the disc's spread selects only the pixels within it.
    let mut tight = MaskEditor::new(w, h);
    tight.select_similar(&image, 10.5, 12.5, 3, Selection::Add);
    for (x, y, p) in image.enumerate_pixels() {
        let (x, y) = (x as usize, y as usize);
        let close = (0..3).all(|c| p[c].abs_diff(seed[c]) <= 3);
        if tight.mask().holes[y * w + x] {
            assert!(close && want(x, y), "({x}, {y})");
        }
    }
    let n = tight.mask().holes.iter().filter(|&&h| h).count();
    assert!(n >= 1 && n < added, "{n} of {added}");
    // Diagonal neighbours connect: the whole line from one end.
    let mut line = MaskEditor::new(w, h);
    assert_eq!(
        line.select_similar(&image, 20.5, 20.5, 24, Selection::Add),
        8
    );
    // Outside the image: nothing, and no undo step.
    let mut outside = MaskEditor::new(w, h);
    for (x, y) in [(-0.5, 3.0), (40.0, 3.0), (3.0, 30.0), (f32::NAN, 1.0)] {
        assert_eq!(outside.select_similar(&image, x, y, 24, Selection::Add), 0);
    }
    assert!(!outside.can_undo());
}

#[test]
fn rectangle_and_lasso_select_holes_in_one_undo_step() {
    let mut e = MaskEditor::new(30, 20);
    e.begin_shape(Tool::Rectangle, 12.2, 8.9, Selection::Add);
    e.shape_to(4.0, 3.0);
    assert!(
        e.is_shaping() && count(&e) == 0,
        "nothing changes while dragging"
    );
    e.end_shape();
    // Pixel centres inside x 4..12.2, y 3..8.9: columns 4..=11, rows 3..=8.
    assert_eq!(count(&e), 8 * 6);
    assert!(e.mask().holes[3 * 30 + 4] && e.mask().holes[8 * 30 + 11]);
    assert!(!e.mask().holes[9 * 30 + 11] && !e.mask().holes[8 * 30 + 12]);
    // A lasso: the triangle (20, 2), (28, 18), (20, 18).
    e.begin_shape(Tool::Lasso, 20.0, 2.0, Selection::Add);
    for &(x, y) in &[(24.0, 10.0), (28.0, 18.0), (20.0, 18.0)] {
        e.shape_to(x, y);
    }
    e.end_shape();
    let m = e.mask();
    assert!(
        m.holes[16 * 30 + 21] && m.holes[16 * 30 + 26],
        "inside near the base"
    );
    assert!(!m.holes[4 * 30 + 26] && !m.holes[16 * 30 + 19], "outside");
    let triangle = count(&e) - 48;
    assert!((55..=70).contains(&triangle), "area about 64: {triangle}");
    assert!(e.undo());
    assert_eq!(count(&e), 48, "the lasso was one step");
    // A lasso of two points selects nothing.
    e.begin_shape(Tool::Lasso, 1.0, 1.0, Selection::Add);
    e.shape_to(9.0, 9.0);
    e.end_shape();
    assert_eq!(count(&e), 48);
}

/// Ctrl or Alt held: the rectangle, lasso and wand take their pixels away
/// from the holes, and the brush erases; each one undo step.
#[test]
fn selections_subtract_with_a_modifier() {
    let (w, h) = (30usize, 20usize);
    let mut e = MaskEditor::new(w, h);
    e.press(Tool::Rectangle, 3.0, 0.0, 0.0, Selection::Add);
    e.release(30.0, 20.0);
    assert_eq!(count(&e), w * h);
    // Columns 4..=11, rows 3..=8 taken away.
    e.press(Tool::Rectangle, 3.0, 4.0, 3.0, Selection::Subtract);
    assert_eq!(
        e.shape_selection(),
        Some(Selection::Subtract),
        "drawn as such"
    );
    e.release(12.2, 8.9);
    assert_eq!(e.shape_selection(), None);
    assert_eq!(count(&e), w * h - 8 * 6);
    assert!(!e.mask().holes[3 * w + 4] && e.mask().holes[3 * w + 3]);
    // A lasso taking away the triangle (20, 2), (28, 18), (20, 18).
    e.press(Tool::Lasso, 3.0, 20.0, 2.0, Selection::Subtract);
    for &(x, y) in &[(24.0, 10.0), (28.0, 18.0)] {
        e.drag_to(x, y);
    }
    e.release(20.0, 18.0);
    let triangle = w * h - 48 - count(&e);
    assert!((55..=70).contains(&triangle), "area about 64: {triangle}");
    assert!(!e.mask().holes[16 * w + 21]);
    // The brush with the modifier erases.
    e.press(Tool::Brush, 1.0, 1.0, 15.5, Selection::Subtract);
    e.release(15.0, 15.5);
    assert!(!e.mask().holes[15 * w + 8]);
    assert!(e.undo() && e.undo());
    assert_eq!(
        count(&e),
        w * h - 48,
        "the brush and the lasso were a step each"
    );
    // The wand takes away the connected pixels of the clicked colour: the
    // left half of a two-colour image.
    let image = image::RgbImage::from_fn(w as u32, h as u32, |x, _| {
        image::Rgb(if x < 15 { [200, 40, 30] } else { [20, 60, 180] })
    });
    let mut wand = MaskEditor::new(w, h);
    wand.press(Tool::Rectangle, 3.0, 0.0, 0.0, Selection::Add);
    wand.release(30.0, 20.0);
    assert_eq!(
        wand.select_similar(&image, 3.5, 3.5, 10, Selection::Subtract),
        15 * h
    );
    assert!((0..w * h).all(|i| wand.mask().holes[i] == (i % w >= 15)));
    assert!(wand.undo());
    assert_eq!(count(&wand), w * h);
}

/// A whole gesture from one frame's events: press, release elsewhere with
/// no move between (a stalled frame). The shape or stroke reaches the
/// release point.
#[test]
fn a_gesture_ends_where_the_button_is_released() {
    let mut e = MaskEditor::new(30, 20);
    assert!(!e.release(5.0, 5.0), "no gesture under way");
    e.press(Tool::Rectangle, 3.0, 4.0, 3.0, Selection::Add);
    assert!(e.is_pressed());
    assert!(e.release(12.2, 8.9));
    assert!(!e.is_pressed());
    assert_eq!(count(&e), 8 * 6, "the rectangle of the release point");
    // The brush: a stroke from the press to the release, one undo step.
    e.press(Tool::Brush, 1.0, 2.0, 15.5, Selection::Add);
    assert!(e.release(25.0, 15.5));
    let row: usize = (0..30).filter(|&x| e.mask().holes[15 * 30 + x]).count();
    assert!(row >= 23, "the stroke spans the row: {row} pixels");
    assert!(e.undo());
    assert_eq!(count(&e), 48);
}

#[test]
fn grow_and_shrink_move_the_edge_by_exact_distances() {
    // Against brute force on a random mask: grow by n = every pixel within
    // n (centre to centre) of a hole; shrink = holes farther than n from a
    // known pixel.
    let (w, h) = (23usize, 17usize);
    let mut rng = 12345u64;
    let holes: Vec<bool> = (0..w * h)
        .map(|_| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 60) < 2
        })
        .collect();
    let mask = HoleMap {
        width: w,
        height: h,
        holes,
    };
    let near = |i: usize, to: bool, n: usize| {
        let (x, y) = ((i % w) as i64, (i / w) as i64);
        (0..w * h).any(|j| {
            let (a, b) = ((j % w) as i64, (j / w) as i64);
            mask.holes[j] == to && (a - x).pow(2) + (b - y).pow(2) <= (n * n) as i64
        })
    };
    for n in [1usize, 2, 3] {
        let mut e = MaskEditor::from_mask(mask.clone());
        e.grow(n);
        for i in 0..w * h {
            assert_eq!(e.mask().holes[i], near(i, true, n), "grow {n} at {i}");
        }
        let mut e = MaskEditor::from_mask(mask.clone());
        e.shrink(n);
        for i in 0..w * h {
            assert_eq!(
                e.mask().holes[i],
                mask.holes[i] && !near(i, false, n),
                "shrink {n} at {i}"
            );
        }
        assert!(e.undo());
        assert_eq!(e.mask(), &mask, "one undo step");
    }
}

/// What the app remembers between runs, through eframe's own storage
/// functions (RON), as the window stores and reads it.
mod settings {
    use std::collections::HashMap;

    use pconv::app::settings::{Settings, KEY};
    use pconv::app::ui::MethodChoice;
    use pconv::infer::edge_blend::EdgeBand;
    use pconv::infer::Classical;

    #[derive(Default)]
    struct Memory(HashMap<String, String>);
    impl eframe::Storage for Memory {
        fn get_string(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
        fn set_string(&mut self, key: &str, value: String) {
            self.0.insert(key.into(), value);
        }
        fn remove_string(&mut self, key: &str) {
            self.0.remove(key);
        }
        fn flush(&mut self) {}
    }

    fn load(m: &Memory) -> Settings {
        eframe::get_value::<Settings>(m, KEY)
            .unwrap_or_default()
            .sanitized()
    }

    #[test]
    fn settings_round_trip_and_bad_files_fall_back() {
        let dir = crate::common::Scratch::new("settings");
        let model = dir.join("m.safetensors");
        std::fs::write(&model, b"x").unwrap();
        let mut s = Settings {
            radius: 30.0,
            feather: 5,
            wand_tolerance: 40,
            average_flips: true,
            method: Some(MethodChoice::Model(model.clone())),
            ..Settings::default()
        };
        s.remember_folder_of(&dir.join("photo.png"));
        assert_eq!(s.last_folder.as_deref(), Some(dir.path()));
        let mut m = Memory::default();
        eframe::set_value(&mut m, KEY, &s);
        assert_eq!(load(&m), s);

        // Every classical method is remembered as chosen.
        for c in [
            Classical::Telea,
            Classical::NavierStokes,
            Classical::Biharmonic,
            Classical::Fsr,
        ] {
            let chosen = Settings {
                method: Some(MethodChoice::Classical(c)),
                ..Settings::default()
            };
            let mut kept = Memory::default();
            eframe::set_value(&mut kept, KEY, &chosen);
            assert_eq!(load(&kept).method, Some(MethodChoice::Classical(c)));
        }

        // The model file is gone: forgotten, and the default method runs.
        std::fs::remove_file(&model).unwrap();
        let gone = load(&m);
        assert_eq!(gone.method, None);
        let telea = MethodChoice::Classical(Classical::Telea);
        assert_eq!(gone.start_method(None, telea.clone()), telea);

        // An older or hand-written file: missing fields take defaults, out
        // of range values are clamped, garbage is ignored.
        eframe::Storage::set_string(
            &mut m,
            KEY,
            "(radius: 9000.0, feather: 99, overlay_opacity: -1.0, edge_blend: 13, wand_tolerance: 200)".into(),
        );
        let old = load(&m);
        assert_eq!(
            (old.radius, old.feather, old.overlay_opacity, old.grow_by),
            (500.0, 32, 0.0, Settings::default().grow_by)
        );
        assert_eq!(old.wand_tolerance, 128);
        // The edge blend takes the nearest depth the panel offers; the
        // band is the faces' unless chosen.
        assert_eq!(old.edge_blend, 16);
        assert_eq!(old.edge_band, EdgeBand::Faces);
        let fsr = Settings {
            edge_band: EdgeBand::Photos,
            edge_blend: EdgeBand::Photos.default_depth(),
            ..Settings::default()
        };
        let mut kept = Memory::default();
        eframe::set_value(&mut kept, KEY, &fsr);
        assert_eq!(load(&kept), fsr);
        assert!(pconv::app::settings::EDGE_BLENDS.contains(&EdgeBand::Photos.default_depth()));
        let default = pconv::infer::edge_blend::DEFAULT_BLEND_DEPTH;
        assert_eq!(Settings::default().edge_blend, default);
        assert!(pconv::app::settings::EDGE_BLENDS.contains(&default));
        eframe::Storage::set_string(&mut m, KEY, "not ron at all {".into());
        assert_eq!(load(&m), Settings::default());
    }

    #[test]
    fn the_command_line_wins_over_the_remembered_method() {
        let ns = MethodChoice::Classical(Classical::NavierStokes);
        let telea = MethodChoice::Classical(Classical::Telea);
        let s = Settings {
            method: Some(MethodChoice::Fit),
            ..Settings::default()
        };
        assert_eq!(s.start_method(Some(ns.clone()), telea.clone()), ns);
        assert_eq!(s.start_method(None, telea.clone()), MethodChoice::Fit);
        assert_eq!(Settings::default().start_method(None, telea.clone()), telea);
        // The model field shows the model in use, else the last loaded.
        let last = std::path::PathBuf::from("/models/last.safetensors");
        let s = Settings {
            model: Some(last.clone()),
            ..Settings::default()
        };
        assert_eq!(s.model_field(&telea, None), Some(last));
        let bundled = std::path::Path::new("/b.safetensors");
        assert_eq!(
            Settings::default().model_field(&telea, Some(bundled)),
            Some(bundled.to_path_buf())
        );
    }
}
