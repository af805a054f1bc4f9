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

/// After the network, each hole pixel d pixels from the nearest known
/// pixel holds ns + min(1, d / depth) (network - ns), Navier–Stokes (at
/// the blend's radius) run on the whole hole: at the edge (d = 1) mostly Navier–Stokes, from `depth`
/// deep the network's fill; known pixels and depth 0 leave it alone.
#[test]
fn the_network_takes_over_from_navier_stokes_with_depth() {
    use pconv::infer::edge_blend::{blend_with_navier_stokes, BLEND_NS_RADIUS};
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
    let depth = 4;
    let mut fill = network.clone();
    blend_with_navier_stokes(&image, &holes, &mut fill, depth);
    let ns = Classical::NavierStokes.predict(&image, &holes, BLEND_NS_RADIUS);
    // Each hole pixel's distance to the nearest known pixel, by brute force.
    let distance = |i: usize| -> f64 {
        let (x, y) = ((i % w) as f64, (i / w) as f64);
        (0..w * h)
            .filter(|&j| !holes.holes[j])
            .map(|j| ((j % w) as f64 - x).hypot((j / w) as f64 - y))
            .fold(f64::MAX, f64::min)
    };
    let (mut edge, mut deep) = (0, 0);
    for i in 0..w * h {
        let t = if holes.holes[i] {
            (distance(i) / depth as f64).min(1.0)
        } else {
            1.0
        };
        edge += (holes.holes[i] && t < 0.5) as usize;
        deep += (t == 1.0 && holes.holes[i]) as usize;
        for c in 0..3 {
            let j = c * w * h + i;
            let want = if holes.holes[i] {
                ns.data[j] as f64 + t * (0.5 - ns.data[j] as f64)
            } else {
                0.5
            };
            assert!(
                (fill.data[j] as f64 - want).abs() < 1e-6,
                "pixel {i} channel {c}: {} want {want}",
                fill.data[j]
            );
        }
    }
    assert!(edge > 50 && deep > 50, "{edge} edge and {deep} deep pixels");
    let mut untouched = network.clone();
    blend_with_navier_stokes(&image, &holes, &mut untouched, 0);
    assert_eq!(untouched.data, network.data);
}

/// Navier–Stokes stopped at an arrival gives every pixel it filled what
/// the whole fill gives it (each pixel reads only pixels filled before
/// it), and leaves deeper ones alone: the edge blend's work stays near
/// the edges of large holes.
#[test]
fn navier_stokes_stopped_early_fills_the_edges_as_the_whole_fill_does() {
    use pconv::raster::Planes;
    let (w, h) = (60, 50);
    let holes = rects(w, h, &[(5, 5, 45, 40), (48, 10, 51, 45)]);
    let image = Planes {
        width: w,
        height: h,
        data: (0..3 * w * h)
            .map(|i| (((i * 7919) % 251) as f32 / 250.0 + (i % w) as f32 / w as f32) / 2.0)
            .collect(),
    };
    let whole = Classical::NavierStokes.predict(&image, &holes, 3);
    let edges = Classical::NavierStokes.predict_until(&image, &holes, 3, 6.0);
    let distance = holes.squared_distances(false);
    let (mut near, mut far_untouched) = (0, 0);
    for i in (0..w * h).filter(|&i| holes.holes[i]) {
        let same = (0..3).all(|c| edges.data[c * w * h + i] == whole.data[c * w * h + i]);
        if distance[i] <= 16 {
            assert!(same, "pixel {i}, {} deep", (distance[i] as f64).sqrt());
            near += 1;
        }
        let kept = (0..3).all(|c| {
            edges.data[c * w * h + i] == (image.data[c * w * h + i] * 255.0).round() / 255.0
        });
        far_untouched += (distance[i] > 100 && kept) as usize;
    }
    assert!(near > 300, "{near}");
    assert!(far_untouched > 100, "{far_untouched}");
}
