//! Telea and Navier–Stokes against OpenCV's own `cv2.inpaint`, on the
//! fixtures `tools/opencv/make_fixtures.py` made with OpenCV (a face, a
//! scene, thin lines, a large hole, holes on every border, one-pixel-wide
//! and one-pixel-tall images; radius 1, 3 and 7), biharmonic against
//! scikit-image's `inpaint_biharmonic` on the same images, and the edge
//! blend. Neither library is needed here: their results are committed.
use std::path::{Path, PathBuf};

use pconv::infer::edge_blend::{blend, EdgeBand};
use pconv::infer::Classical;
use pconv::raster::{HoleMap, Planes};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/opencv")
}

/// One result of OpenCV's in the fixtures' manifest: the method and its
/// radius, and the case's image, holes and OpenCV's output.
struct OpencvResult {
    what: String,
    method: Classical,
    radius: usize,
    image: image::RgbImage,
    holes: HoleMap,
    theirs: image::RgbImage,
}

/// The manifest's results of these methods (by the names
/// `Classical::name` gives them).
fn opencv_results(methods: &[Classical]) -> Vec<OpencvResult> {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("manifest.json")).unwrap())
            .unwrap();
    let mut out = Vec::new();
    for r in manifest["results"].as_array().unwrap() {
        let name = r["method"].as_str().unwrap();
        let Some(&method) = methods.iter().find(|m| m.name() == name) else {
            continue;
        };
        let case = fixtures().join(r["case"].as_str().unwrap());
        let radius = r["radius"].as_u64();
        let tag = radius.map(|r| format!(" r{r}")).unwrap_or_default();
        out.push(OpencvResult {
            what: format!("{} {name}{tag}", r["case"].as_str().unwrap()),
            method,
            radius: radius.unwrap_or(0) as usize,
            image: image::open(case.join("image.png")).unwrap().to_rgb8(),
            holes: HoleMap::read(&case.join("mask.png")).unwrap(),
            theirs: image::open(case.join(r["file"].as_str().unwrap()))
                .unwrap()
                .to_rgb8(),
        });
    }
    out
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
    let results = opencv_results(&[Classical::Telea, Classical::NavierStokes]);
    assert!(results.len() >= 14, "fixtures missing");
    let mut report = Vec::new();
    for OpencvResult {
        what,
        method,
        radius,
        image,
        holes,
        theirs,
    } in results
    {
        let ours = method.inpaint(&image, &holes, radius).unwrap();
        let (n, close, exact, kept) = compare(&ours, &theirs, &image, &holes);
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
    for m in [
        Classical::Telea,
        Classical::NavierStokes,
        Classical::Biharmonic,
        Classical::Fsr,
    ] {
        let out = m.inpaint(&image, &all, 3).unwrap();
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
/// pixel holds bh + min(1, (d - 1) / (depth - 1)) (network - bh), bh the
/// biharmonic (or FSR) fill of the hole pixels less than `depth` deep
/// between the known pixels and the network's fill deeper in: at the edge
/// (d = 1) the classical fill alone, from `depth` deep the network's fill
/// exactly; known pixels and depths 0 and 1 leave it alone.
#[test]
fn the_network_takes_over_from_the_classical_fill_with_depth() {
    for with in [
        EdgeBand::Faces,
        EdgeBand::Photos,
        EdgeBand::Biharmonic,
        EdgeBand::Fsr,
    ] {
        takes_over_with_depth(with);
    }
}

fn takes_over_with_depth(with: EdgeBand) {
    use pconv::infer::classical::biharmonic;
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
        data: (0..3 * w * h)
            .map(|i| 0.3 + 0.01 * ((i * 37) % 41) as f32)
            .collect(),
    };
    let depth = 4;
    let mut fill = network.clone();
    blend(&image, &holes, &mut fill, depth, with).unwrap();
    // Each hole pixel's distance to the nearest known pixel, by brute force.
    let distance = |i: usize| -> f64 {
        let (x, y) = ((i % w) as f64, (i / w) as f64);
        (0..w * h)
            .filter(|&j| !holes.holes[j])
            .map(|j| ((j % w) as f64 - x).hypot((j / w) as f64 - y))
            .fold(f64::MAX, f64::min)
    };
    let band: Vec<bool> = (0..w * h)
        .map(|i| holes.holes[i] && distance(i) < depth as f64)
        .collect();
    let mut given = image.clone();
    for i in (0..w * h).filter(|&i| holes.holes[i]) {
        for c in 0..3 {
            given.data[c * w * h + i] = network.data[c * w * h + i];
        }
    }
    // The band's fill: biharmonic's and FSR's, mixed by FSR's share.
    let smooth = biharmonic::fill(&given, &band).unwrap();
    let fsr = Classical::Fsr
        .predict(
            &given,
            &HoleMap {
                width: w,
                height: h,
                holes: band.clone(),
            },
            0,
        )
        .unwrap();
    let share = with.fsr_share();
    let mut bh = smooth.clone();
    for (m, (b, f)) in bh.data.iter_mut().zip(smooth.data.iter().zip(&fsr.data)) {
        *m = (1.0 - share) * b + share * f;
    }
    let (mut edge, mut deep) = (0, 0);
    for (i, &in_band) in band.iter().enumerate() {
        let t = if holes.holes[i] {
            ((distance(i) - 1.0) / (depth - 1) as f64).min(1.0)
        } else {
            1.0
        };
        edge += (holes.holes[i] && t < 0.5) as usize;
        deep += (t == 1.0 && holes.holes[i]) as usize;
        for c in 0..3 {
            let j = c * w * h + i;
            let net = network.data[j] as f64;
            let want = if in_band {
                bh.data[j] as f64 + t * (net - bh.data[j] as f64)
            } else {
                net
            };
            assert!(
                (fill.data[j] as f64 - want).abs() < 1e-6,
                "{with:?}: pixel {i} channel {c}: {} want {want}",
                fill.data[j]
            );
        }
    }
    assert!(edge > 50 && deep > 50, "{edge} edge and {deep} deep pixels");
    for depth in [0, 1] {
        let mut untouched = network.clone();
        blend(&image, &holes, &mut untouched, depth, with).unwrap();
        assert_eq!(untouched.data, network.data);
    }
}

/// The biharmonic fill solves its normal equations: with L the
/// 4-neighbour graph Laplacian (built densely here), (LᵀL u)(a) = 0 at
/// every unknown pixel a, holes on the border included. The fill is kept
/// in f32, so each of the 13 stencil terms (absolute sum 64) carries an
/// error up to 2⁻²⁴ of a value ≤ 1: the residual stays below 64 · 6e-8.
#[test]
fn biharmonic_solves_its_normal_equations() {
    use pconv::infer::classical::biharmonic;
    let (w, h) = (13, 11);
    let n = w * h;
    let unknown: Vec<bool> = (0..n)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            (3..9).contains(&x) && (2..7).contains(&y) || x == 0 && y < 4 || y == h - 1 && x > 8
        })
        .collect();
    let image = Planes {
        width: w,
        height: h,
        data: (0..3 * n)
            .map(|k| {
                let (i, c) = (k % n, k / n);
                let (px, py) = ((i % w) as f32, (i / w) as f32);
                let (x, y) = (px / w as f32, py / h as f32);
                // A smooth field with its extremes at two known pixels
                // away from the holes, so the known range (the fill's
                // clamp) holds every filled value.
                let bump = |bx: f32, by: f32| (-((px - bx).powi(2) + (py - by).powi(2))).exp();
                0.5 + 0.1 * (3.0 * x + c as f32).sin() * (2.0 * y).cos() + 0.35 * bump(11.0, 8.0)
                    - 0.35 * bump(1.0, 8.0)
            })
            .collect(),
    };
    let out = biharmonic::fill(&image, &unknown).unwrap();
    let mut lap = vec![vec![0.0f64; n]; n];
    for (q, row) in lap.iter_mut().enumerate() {
        let (x, y) = (q % w, q / w);
        let neighbours = [
            (x > 0).then(|| q - 1),
            (x + 1 < w).then(|| q + 1),
            (y > 0).then(|| q - w),
            (y + 1 < h).then(|| q + w),
        ];
        for p in neighbours.into_iter().flatten() {
            row[p] = -1.0;
            row[q] += 1.0;
        }
    }
    for c in 0..3 {
        let u: Vec<f64> = out.data[c * n..(c + 1) * n]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let lu: Vec<f64> = (0..n)
            .map(|q| (0..n).map(|p| lap[q][p] * u[p]).sum())
            .collect();
        for a in (0..n).filter(|&a| unknown[a]) {
            let r: f64 = (0..n).map(|q| lap[q][a] * lu[q]).sum();
            assert!(r.abs() < 64.0 * 6e-8, "pixel {a} channel {c}: residual {r}");
            assert_ne!(
                out.data[c * n + a],
                image.data[c * n + a],
                "pixel {a} not filled"
            );
        }
        for a in (0..n).filter(|&a| !unknown[a]) {
            assert_eq!(
                out.data[c * n + a],
                image.data[c * n + a],
                "known {a} changed"
            );
        }
    }
}

/// Biharmonic inpainting against scikit-image's own `inpaint_biharmonic`
/// on the images and masks of the OpenCV fixtures (holes on every border
/// and one-pixel-wide images included), made by
/// `tools/opencv/make_biharmonic_fixtures.py`. Both solve the same system
/// (scikit-image's border stencil, truncated with a reflecting Laplacian,
/// is the graph Laplacian's), so the 8-bit results differ only where two
/// roundings of one value straddle a half level: by one level, rarely.
#[test]
fn biharmonic_matches_scikit_image() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/skimage");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let cases = manifest["cases"].as_array().unwrap();
    assert!(cases.len() >= 7, "fixtures missing");
    for case in cases {
        let case = case.as_str().unwrap();
        let image = image::open(fixtures().join(case).join("image.png"))
            .unwrap()
            .to_rgb8();
        let holes = HoleMap::read(&fixtures().join(case).join("mask.png")).unwrap();
        let theirs = image::open(dir.join(case).join("biharmonic.png"))
            .unwrap()
            .to_rgb8();
        let ours = Classical::Biharmonic.inpaint(&image, &holes, 3).unwrap();
        let (n, _, exact, kept) = compare(&ours, &theirs, &image, &holes);
        assert!(kept && n > 0, "{case}: a known pixel changed, or no holes");
        let within_one = ours
            .pixels()
            .zip(theirs.pixels())
            .all(|(p, q)| (0..3).all(|c| p[c].abs_diff(q[c]) <= 1));
        assert!(
            within_one && exact as f64 >= 0.999 * n as f64,
            "{case}: {exact} of {n} hole values equal to scikit-image's"
        );
    }
}

/// A band too large to solve (known pixels on a sparse grid over a large
/// image: every hole pixel is near one) is a clear error that names the
/// way out, not minutes of solving.
#[test]
fn a_band_too_large_to_solve_says_what_to_do() {
    let side = 1100;
    let holes = HoleMap {
        width: side,
        height: side,
        holes: (0..side * side)
            .map(|i| (i % side) % 20 != 0 || (i / side) % 20 != 0)
            .collect(),
    };
    let image = Planes {
        width: side,
        height: side,
        data: vec![0.5; 3 * side * side],
    };
    let mut fill = image.clone();
    let err = blend(&image, &holes, &mut fill, 16, EdgeBand::Biharmonic)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--edge-blend 0"), "{err}");
}

/// FSR's results are computed in f64 from 8-bit values and rounded to 8
/// bits, with OpenCV's own order of blocks and choice of basis functions,
/// so they match to the bit unless a sum lands within rounding error
/// (about 1e-12 of 255) of a half level or the choice's 0.001 tie
/// window: 1 value in 1000 allows for that and catches any real change
/// (each block's values all move).
#[test]
fn fsr_matches_opencv_contrib_on_every_fixture() {
    let results = opencv_results(&[Classical::Fsr, Classical::FsrBest]);
    assert!(results.len() >= 14, "fixtures missing");
    let mut left_somewhere = false;
    for OpencvResult {
        what,
        method,
        image,
        holes,
        theirs,
        ..
    } in results
    {
        let ours = method.inpaint(&image, &holes, 0).unwrap();
        let (w, h) = (image.width(), image.height());
        let (mut n, mut exact) = (0, 0);
        // Absolute error against the image under the holes: where OpenCV
        // fills, and where it leaves YCrCb (0, 0, 0), bright green.
        let (mut err_filled, mut err_left, mut err_green, mut left) = (0, 0, 0, 0);
        for (x, y, p) in ours.enumerate_pixels() {
            if !holes.holes[(y * w + x) as usize] {
                assert_eq!(p, image.get_pixel(x, y), "{what}: a known pixel changed");
                continue;
            }
            let q = theirs.get_pixel(x, y);
            let truth = image.get_pixel(x, y);
            let err: i32 = (0..3).map(|c| (p[c] as i32 - truth[c] as i32).abs()).sum();
            if q.0 == [0, 135, 0] {
                assert!(
                    x >= w / 16 * 16 || y >= h / 16 * 16,
                    "{what}: OpenCV left ({x}, {y}) unfilled inside its block grid"
                );
                left += 1;
                err_left += err;
                err_green += (0..3)
                    .map(|c| (q[c] as i32 - truth[c] as i32).abs())
                    .sum::<i32>();
                continue;
            }
            err_filled += err;
            for c in 0..3 {
                n += 1;
                exact += usize::from(p[c] == q[c]);
            }
        }
        eprintln!(
            "{what}: {n} values, {:.3} % exact; {left} pixels OpenCV leaves unfilled, mean error there {:.1} levels (filled: {:.1})",
            100.0 * exact as f64 / n.max(1) as f64,
            err_left as f64 / (3 * left).max(1) as f64,
            err_filled as f64 / n.max(1) as f64,
        );
        assert!(
            1000 * exact >= 999 * n,
            "{what}: {exact} of {n} values as OpenCV's"
        );
        // Filled from their surroundings, not left: at most half the error
        // of OpenCV's green there.
        assert!(
            2 * err_left <= err_green,
            "{what}: error {err_left} where OpenCV's is {err_green} ({left} pixels)"
        );
        left_somewhere |= left > 0;
    }
    assert!(
        left_somewhere,
        "no fixture has pixels OpenCV leaves unfilled"
    );
}

#[test]
fn fsr_fills_images_smaller_than_its_blocks() {
    // Under 16 pixels on a side OpenCV's grid has no block at all; every
    // hole is filled here, from the one known colour wherever it is.
    for (w, h, known) in [
        (1, 1, None),
        (3, 2, Some(5)),
        (1, 9, Some(0)),
        (17, 3, Some(40)),
    ] {
        let image = image::RgbImage::from_pixel(w, h, image::Rgb([200, 40, 90]));
        let n = (w * h) as usize;
        let holes = HoleMap {
            width: w as usize,
            height: h as usize,
            holes: (0..n).map(|i| Some(i) != known).collect(),
        };
        let out = Classical::Fsr.inpaint(&image, &holes, 0).unwrap();
        let want: [i32; 3] = if known.is_some() {
            [200, 40, 90]
        } else {
            [128; 3]
        };
        for p in out.pixels() {
            // A flat colour is modelled exactly but for the YCrCb round
            // trip's rounding.
            let off = (0..3)
                .map(|c| (i32::from(p[c]) - want[c]).abs())
                .max()
                .unwrap();
            assert!(off <= 2, "{w}x{h}: {:?} for {want:?}", p.0);
        }
    }
}
