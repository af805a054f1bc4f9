//! Training images: recursive listing, augmentation, deterministic ordered
//! batches (also when resuming mid-way), unreadable files skipped, and an
//! empty folder as a clear error.
mod common;

use std::path::PathBuf;

use common::Scratch;
use pconv::data::images::{augment, BatchSpec, Crop, ImageLoader};
use pconv::data::masks::MaskSource;
use pconv::raster::files::list_images;

fn spec(batch: usize, size: usize, seed: u64) -> BatchSpec {
    BatchSpec {
        batch,
        size,
        crop: Crop::Full,
        seed,
        share: None,
    }
}

fn folder(name: &str) -> Scratch {
    let dir = Scratch::new(&format!("img-{name}"));
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    for (i, (w, h)) in [(20u32, 16u32), (6, 9), (33, 12), (16, 16)]
        .iter()
        .enumerate()
    {
        let img = image::RgbImage::from_fn(*w, *h, |x, y| {
            image::Rgb([(x * 7 + i as u32 * 50) as u8, (y * 11) as u8, (x * y) as u8])
        });
        let sub = if i % 2 == 0 {
            dir.to_path_buf()
        } else {
            dir.join("nested")
        };
        img.save(sub.join(format!("img{i}.png"))).unwrap();
    }
    std::fs::write(dir.join("broken.jpg"), b"not a jpeg").unwrap();
    std::fs::write(dir.join("notes.txt"), b"ignored").unwrap();
    dir
}

#[test]
fn batches_are_deterministic_ordered_and_skip_unreadable_files() {
    let dir = folder("batches");
    let files = list_images(&dir).unwrap();
    assert_eq!(files.len(), 5, "{files:?}");
    let collect = |first: u64, count: usize, workers: usize| {
        let mut l = ImageLoader::start(
            files.clone(),
            MaskSource::GENERATED,
            spec(3, 8, 42),
            first,
            workers,
        );
        (0..count)
            .map(|_| l.next_batch().unwrap())
            .collect::<Vec<_>>()
    };
    let a = collect(0, 6, 1);
    let b = collect(0, 6, 3);
    let resumed = collect(4, 2, 2);
    for (i, batch) in a.iter().enumerate() {
        assert_eq!(batch.index, i as u64);
        assert_eq!(batch.images.len(), 3 * 3 * 8 * 8);
        assert!(batch.images.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(
            batch.images, b[i].images,
            "batch {i} depends on thread count"
        );
        assert_eq!(batch.masks.len(), 3 * 8 * 8);
        assert_eq!(batch.masks, b[i].masks, "masks of batch {i}");
    }
    assert_eq!(resumed[0].images, a[4].images);
    assert_eq!(resumed[1].images, a[5].images);
    assert_eq!(resumed[1].masks, a[5].masks);
    assert_ne!(a[0].images, a[1].images);
    // A rank's share (samples 1 and 2 of each batch of 3) is that part of
    // the whole batch, unreadable files and all.
    let mut share = ImageLoader::start(
        files.clone(),
        MaskSource::GENERATED,
        BatchSpec {
            share: Some(1..3),
            ..spec(3, 8, 42)
        },
        0,
        2,
    );
    for (i, whole) in a.iter().enumerate() {
        let part = share.next_batch().unwrap();
        assert_eq!(
            part.images,
            whole.images[3 * 8 * 8..],
            "images of batch {i}"
        );
        assert_eq!(part.masks, whole.masks[8 * 8..], "masks of batch {i}");
    }
}

#[test]
fn empty_folder_is_a_clear_error() {
    let dir = Scratch::new("img-empty");
    let err = list_images(&dir).unwrap_err().to_string();
    assert!(err.contains("no images found"), "{err}");
    assert!(list_images(&dir.join("missing")).is_err());
}

#[test]
fn only_unreadable_files_is_an_error_not_a_hang() {
    let dir = Scratch::new("img-bad");
    std::fs::write(dir.join("a.png"), b"garbage").unwrap();
    let files = list_images(&dir).unwrap();
    let mut l = ImageLoader::start(files, MaskSource::GENERATED, spec(2, 8, 1), 0, 1);
    assert!(l.next_batch().is_err());
}

#[test]
fn resize_keeps_the_whole_image_and_crop_keeps_full_resolution() {
    // A 32x16 image: left half black, right half white.
    let img = image::RgbImage::from_fn(32, 16, |x, _| {
        image::Rgb(if x < 16 { [0, 0, 0] } else { [255, 255, 255] })
    });
    let mut rng = pconv::model::SplitMix64(3);
    // Resized to 16x8 then cropped 8x8: some crops straddle the edge, and
    // every crop has pixels of only one colour or both at 8/16 scale.
    let mut saw_edge = false;
    for _ in 0..20 {
        let v = augment(&img, 8, Crop::Resize, &mut rng);
        assert_eq!(v.len(), 3 * 8 * 8);
        saw_edge |= v.iter().any(|&p| p < 0.1) && v.iter().any(|&p| p > 0.9);
    }
    assert!(saw_edge);
    // Cropping 16x16 at full resolution from a 32x16 image never resizes:
    // values stay exactly 0 or 1.
    for _ in 0..5 {
        let v = augment(&img, 16, Crop::Full, &mut rng);
        assert!(v.iter().all(|&p| p == 0.0 || p == 1.0));
    }
}

/// `--crop-scale MIN:MAX`: each crop is taken at a short side drawn from
/// MIN·size to MAX·size. On a horizontal ramp the step between neighbouring
/// pixels is 1/(short side - 1) of the full range, so it tells the scale
/// of each crop.
#[test]
fn crop_scale_draws_the_scale_of_each_crop_within_its_range() {
    let n = 97u32;
    let ramp = image::RgbImage::from_fn(n, n, |x, _| {
        let v = (x as f64 / (n - 1) as f64 * 255.0).round() as u8;
        image::Rgb([v, v, v])
    });
    let size = 8usize;
    // The scale of a crop: its pixel step over its middle 4 pixels (the
    // resampling filter bends the ramp at the image's edges).
    let short_side = |v: &[f32]| -> f64 {
        let row = &v[3 * size..4 * size];
        let step = ((row[6] - row[2]) as f64 / 4.0).abs();
        1.0 + 1.0 / step
    };
    let mut rng = pconv::model::SplitMix64(5);
    let sides: Vec<f64> = (0..60)
        .map(|_| {
            short_side(&augment(
                &ramp,
                size,
                Crop::Scale { min: 1.5, max: 4.0 },
                &mut rng,
            ))
        })
        .collect();
    let (lo, hi) = sides
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), &s| (a.min(s), b.max(s)));
    // Drawn from 12 to 32 px (8-bit rounding of the ramp: about ±10 %).
    assert!(lo > 12.0 * 0.88 && hi < 32.0 * 1.12, "{lo} {hi}");
    assert!(lo < 16.0 && hi > 26.0, "the scales spread: {lo} {hi}");
    // Full resolution and resize are the two fixed scales.
    let full = short_side(&augment(&ramp, size, Crop::Full, &mut rng));
    assert!((full - n as f64).abs() < 0.1 * n as f64, "{full}");
    let resized = short_side(&augment(&ramp, size, Crop::Resize, &mut rng));
    assert!((resized - size as f64).abs() < 1.0, "{resized}");
    // Never above the image's own short side, never below the crop.
    let small = image::RgbImage::from_fn(10, 20, |x, _| image::Rgb([x as u8 * 20; 3]));
    for _ in 0..5 {
        let v = augment(&small, size, Crop::Scale { min: 2.0, max: 4.0 }, &mut rng);
        assert!(
            v.iter()
                .all(|&p| ((p * 255.0 / 20.0) - (p * 255.0 / 20.0).round()).abs() < 1e-3),
            "resampled"
        );
    }
    for (text, ok) in [
        ("1:2", true),
        ("1.5", true),
        ("2:1", false),
        ("0.5:1", false),
        ("1:100", false),
        ("a:b", false),
        ("1:nan", false),
    ] {
        assert_eq!(Crop::parse_scale(text).is_ok(), ok, "{text}");
    }
}

#[test]
fn links_back_to_a_parent_neither_loop_nor_repeat_and_special_files_are_left_out() {
    let dir = folder("links");
    let real = list_images(&dir).unwrap();
    std::os::unix::fs::symlink(".", dir.join("a")).unwrap();
    std::os::unix::fs::symlink(".", dir.join("nested/b")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("nested/up")).unwrap();
    std::os::unix::fs::symlink(&real[0], dir.join("same-file.png")).unwrap();
    std::os::unix::fs::symlink("missing.png", dir.join("dangling.png")).unwrap();
    let fifo = dir.join("fifo.png");
    common::mkfifo(&fifo);
    let listed = list_images(&dir).unwrap();
    assert_eq!(listed.len(), real.len(), "{listed:?}");
    let canonical = |v: &[PathBuf]| {
        let mut c: Vec<_> = v
            .iter()
            .map(|p| std::fs::canonicalize(p).unwrap())
            .collect();
        c.sort();
        c
    };
    assert_eq!(canonical(&listed), canonical(&real));
    // Named directly, the FIFO is refused without being opened.
    let err = pconv::raster::files::decode(&fifo).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn a_jpeg_cut_in_its_pixel_data_is_refused() {
    let dir = folder("jpeg");
    let path = dir.join("photo.jpg");
    image::RgbImage::from_fn(48, 40, |x, y| {
        image::Rgb([(x * 5) as u8, (y * 6) as u8, 90])
    })
    .save(&path)
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(pconv::raster::files::jpeg_is_complete(&bytes));
    assert!(pconv::raster::files::decode(&path).is_ok());
    // Cuts inside the pixel data (after the start of scan, FF DA), where a
    // decoder would fill the rest with grey.
    let scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap();
    for keep in [bytes.len() - 1, bytes.len() - 40, scan + 20] {
        assert!(
            !pconv::raster::files::jpeg_is_complete(&bytes[..keep]),
            "cut at {keep}"
        );
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let err = pconv::raster::files::decode(&path).unwrap_err().to_string();
        assert!(
            err.contains("photo.jpg") && err.contains("truncated"),
            "{err}"
        );
    }
}

#[test]
fn a_photo_is_read_upright_as_its_exif_orientation_says() {
    // Stored 30 wide and 20 tall with orientation 6 (rotate 90° clockwise):
    // viewers show it 20 wide and 30 tall.
    let dir = folder("exif");
    let path = dir.join("rotated.jpg");
    let stored = image::RgbImage::from_fn(30, 20, |x, _| {
        image::Rgb(if x < 10 { [250, 20, 20] } else { [20, 20, 250] })
    });
    stored.save(&path).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    // An APP1 Exif segment right after SOI: a big-endian TIFF header and
    // one IFD entry, Orientation (0x0112, SHORT) = 6.
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    bytes.splice(2..2, app1);
    std::fs::write(&path, bytes).unwrap();
    let img = pconv::raster::files::load_rgb(&path).unwrap();
    assert_eq!((img.width(), img.height()), (20, 30));
    // The stored left (red) columns are now the top rows.
    assert!(img.get_pixel(10, 2)[0] > 200, "{:?}", img.get_pixel(10, 2));
    assert!(
        img.get_pixel(10, 27)[2] > 200,
        "{:?}",
        img.get_pixel(10, 27)
    );
}

/// Several training folders with weights (`--data DIR:K`): each source's
/// images K times per epoch, in source order; weights outside 1 to 1000,
/// an empty name and a folder given twice are clear errors; a folder whose
/// own name ends in ':digits' is taken whole.
#[test]
fn weighted_sources_repeat_their_images() {
    use pconv::data::images::{source_files, DataSource};
    let a = folder("src-a");
    let b = folder("src-b");
    let (na, nb) = (
        list_images(&a).unwrap().len(),
        list_images(&b).unwrap().len(),
    );
    let arg = |d: &Scratch, k: &str| format!("{}:{k}", d.display());
    let sources = [
        DataSource::parse(&a.display().to_string()).unwrap(),
        DataSource::parse(&arg(&b, "3")).unwrap(),
    ];
    assert_eq!(sources[1].repeat, 3);
    let files = source_files(&sources).unwrap();
    assert_eq!(files.len(), na + 3 * nb);
    assert!(files[..na].iter().all(|f| f.starts_with(&*a)));
    assert_eq!(files[na..na + nb], files[na + nb..na + 2 * nb]);
    for bad in ["0", "1001"] {
        let e = DataSource::parse(&arg(&b, bad)).unwrap_err();
        assert!(e.contains("1 to 1000"), "{e}");
    }
    assert!(DataSource::parse("").is_err());
    let twice = source_files(&[
        DataSource::new(&*a),
        DataSource::parse(&arg(&a, "2")).unwrap(),
    ]);
    assert!(twice.unwrap_err().to_string().contains("given twice"));
    let odd = a.join("x:2");
    std::fs::create_dir_all(&odd).unwrap();
    assert_eq!(
        DataSource::parse(&odd.display().to_string()).unwrap(),
        DataSource::new(&odd)
    );
}

/// Training, evaluation and the app read photos as sRGB: a Display P3
/// photo's red is sRGB's red there (its raw values would be a duller red).
#[test]
fn photos_are_read_as_srgb() {
    let dir = Scratch::new("img-p3");
    let photo = dir.join("p3.png");
    common::photo_metadata::write_p3_photo(&photo);
    let img = pconv::raster::files::load_rgb(&photo).unwrap();
    let red = img.get_pixel(3, 3);
    assert!(red[0] >= 254 && red[1] <= 1 && red[2] <= 1, "{red:?}");
    assert_eq!(
        img.get_pixel(3, 3),
        img.get_pixel(11, 15),
        "one conversion per colour"
    );
}
