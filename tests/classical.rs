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
