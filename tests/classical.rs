//! Telea and Navier–Stokes against OpenCV's own `cv2.inpaint`, on the
//! fixtures `tools/opencv/make_fixtures.py` made with OpenCV (a face, a
//! scene, thin lines, a large hole, holes on every border, one-pixel-wide
//! and one-pixel-tall images; radius 1, 3 and 7). OpenCV is not needed
//! here: its results are committed.
use std::path::{Path, PathBuf};

use pconv::infer::Classical;
use pconv::raster::HoleMap;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/opencv")
}

/// (hole pixels, channel values within ±2 levels, exactly equal), and
/// whether every known pixel kept its value.
fn compare(
    ours: &image::RgbImage,
    theirs: &image::RgbImage,
    input: &image::RgbImage,
    holes: &HoleMap,
) -> (usize, usize, usize, bool) {
    let (mut n, mut close, mut exact, mut kept) = (0, 0, 0, true);
    for (x, y, p) in ours.enumerate_pixels() {
        let q = theirs.get_pixel(x, y);
        if holes.holes[(y * ours.width() + x) as usize] {
            for c in 0..3 {
                n += 1;
                let d = (p[c] as i32 - q[c] as i32).abs();
                close += usize::from(d <= 2);
                exact += usize::from(d == 0);
            }
        } else {
            kept &= p == input.get_pixel(x, y) && p == q;
        }
    }
    (n, close, exact, kept)
}

#[test]
fn telea_and_navier_stokes_match_opencv_on_every_fixture() {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("manifest.json")).unwrap())
            .unwrap();
    let results = manifest["results"].as_array().unwrap();
    assert!(results.len() >= 14, "fixtures missing");
    let mut report = Vec::new();
    for r in results {
        let case = fixtures().join(r["case"].as_str().unwrap());
        let image = image::open(case.join("image.png")).unwrap().to_rgb8();
        let holes = HoleMap::read(&case.join("mask.png")).unwrap();
        let theirs = image::open(case.join(r["file"].as_str().unwrap()))
            .unwrap()
            .to_rgb8();
        let method = match r["method"].as_str().unwrap() {
            "telea" => Classical::Telea,
            _ => Classical::NavierStokes,
        };
        let radius = r["radius"].as_u64().unwrap() as usize;
        let ours = method.inpaint(&image, &holes, radius);
        let (n, close, exact, kept) = compare(&ours, &theirs, &image, &holes);
        let what = format!("{} {} r{radius}", r["case"], method.name());
        assert!(kept, "{what}: a known pixel changed");
        assert!(n > 0, "{what}: no holes");
        report.push(format!(
            "{what}: {:.2} % within ±2 levels, {:.2} % exact",
            100.0 * close as f64 / n as f64,
            100.0 * exact as f64 / n as f64
        ));
        assert!(
            close as f64 >= 0.95 * n as f64,
            "{what}: only {close} of {n} hole values within ±2 levels of OpenCV's\n{}",
            report.join("\n")
        );
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn an_image_without_a_known_pixel_becomes_mid_grey() {
    // OpenCV returns such an image unchanged, hole pixels and all; a fill
    // of nothing but holes has no information, so pconv says so in grey.
    let image = image::RgbImage::from_fn(5, 4, |x, y| image::Rgb([x as u8 * 40, y as u8 * 50, 7]));
    let all = HoleMap {
        width: 5,
        height: 4,
        holes: vec![true; 20],
    };
    for m in [Classical::Telea, Classical::NavierStokes] {
        let out = m.inpaint(&image, &all, 3);
        assert!(out.pixels().all(|p| p.0 == [128, 128, 128]), "{}", m.name());
    }
}

/// A hole map `w` x `h` with the given rectangles (x0, y0, x1, y1) as holes.
fn rects(w: usize, h: usize, rs: &[(usize, usize, usize, usize)]) -> HoleMap {
    let mut holes = vec![false; w * h];
    for &(x0, y0, x1, y1) in rs {
        for y in y0..y1 {
            for x in x0..x1 {
                holes[y * w + x] = true;
            }
        }
    }
    HoleMap {
        width: w,
        height: h,
        holes,
    }
}

/// Thin regions are whole 8-connected hole regions no deeper than the
/// limit: a 3-px stroke is 2 px deep, a 12x12 square 6 px; a stroke that
/// touches the square at a corner belongs to the square's region.
#[test]
fn thin_regions_are_whole_regions_up_to_a_depth() {
    let stroke = (2, 5, 30, 8);
    let square = (20, 14, 32, 26);
    let map = rects(40, 30, &[stroke, square]);
    let count = |m: &HoleMap| m.holes.iter().filter(|&&h| h).count();
    assert_eq!(count(&map.thin_regions(0)), 0);
    assert_eq!(count(&map.thin_regions(1)), 0);
    assert_eq!(map.thin_regions(2), rects(40, 30, &[stroke]));
    assert_eq!(map.thin_regions(5), rects(40, 30, &[stroke]));
    assert_eq!(map.thin_regions(6), map);
    // Touching diagonally: one region, as deep as the square.
    let joined = rects(40, 30, &[(8, 10, 20, 13), (20, 13, 32, 25)]);
    assert_eq!(count(&joined.thin_regions(5)), 0);
}

/// After the network, the thin regions hold Navier–Stokes's fill of the
/// image with the network's fill in the other holes; the deep holes keep
/// the network's.
#[test]
fn thin_holes_are_filled_by_navier_stokes_after_the_network() {
    use pconv::infer::thin_holes::fill_thin_holes;
    use pconv::raster::Planes;
    let (w, h) = (40, 30);
    let holes = rects(w, h, &[(2, 5, 30, 8), (18, 14, 32, 28)]);
    let image = Planes {
        width: w,
        height: h,
        data: (0..3 * w * h)
            .map(|i| ((i % w) as f32 / w as f32 + (i / (w * h)) as f32 * 0.2) % 1.0)
            .collect(),
    };
    let network = Planes {
        width: w,
        height: h,
        data: vec![0.5; 3 * w * h],
    };
    let mut fill = network.clone();
    assert!(fill_thin_holes(&image, &holes, &mut fill, 4));
    let thin = holes.thin_regions(4);
    let mut around = image.clone();
    for i in (0..w * h).filter(|&i| holes.holes[i]) {
        for c in 0..3 {
            around.data[c * w * h + i] = 0.5;
        }
    }
    let ns = Classical::NavierStokes.predict(&around, &thin, 3);
    for i in 0..w * h {
        for c in 0..3 {
            let j = c * w * h + i;
            let want = if thin.holes[i] { ns.data[j] } else { 0.5 };
            assert_eq!(fill.data[j], want, "pixel {i} channel {c}");
        }
    }
    assert!(thin
        .holes
        .iter()
        .enumerate()
        .any(|(i, &t)| t && fill.data[i] != 0.5));
    // Nothing thin: the network's fill stays.
    let mut untouched = network.clone();
    assert!(!fill_thin_holes(
        &image,
        &rects(w, h, &[(10, 5, 30, 25)]),
        &mut untouched,
        4
    ));
    assert_eq!(untouched.data, network.data);
}
