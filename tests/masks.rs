//! The free-form mask generator: deterministic per seed, hole ratios spread
//! over the requested range, holes reaching the borders.
mod common;

use pconv::data::masks::free_form_mask;
use pconv::model::SplitMix64;

#[test]
fn same_seed_same_mask_and_different_seeds_differ() {
    let a = free_form_mask(64, 48, 0.01, 0.6, &mut SplitMix64(5));
    let b = free_form_mask(64, 48, 0.01, 0.6, &mut SplitMix64(5));
    let c = free_form_mask(64, 48, 0.01, 0.6, &mut SplitMix64(6));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn ratios_cover_the_range() {
    let mut rng = SplitMix64(1);
    let ratios: Vec<f64> = (0..200)
        .map(|_| free_form_mask(64, 64, 0.01, 0.6, &mut rng).ratio())
        .collect();
    let min = ratios.iter().cloned().fold(1.0, f64::min);
    let max = ratios.iter().cloned().fold(0.0, f64::max);
    assert!(min >= 0.01, "min ratio {min}");
    assert!(max <= 0.8, "max ratio {max}");
    for (lo, hi) in [
        (0.0, 0.1),
        (0.1, 0.2),
        (0.2, 0.3),
        (0.3, 0.4),
        (0.4, 0.5),
        (0.5, 0.7),
    ] {
        let n = ratios.iter().filter(|&&r| r > lo && r <= hi).count();
        assert!(
            n >= 10,
            "only {n} of 200 masks with a hole ratio in ({lo}, {hi}]"
        );
    }
    // Some masks reach the image border.
    let mut rng = SplitMix64(2);
    let touching = (0..50)
        .filter(|_| {
            let m = free_form_mask(32, 32, 0.2, 0.4, &mut rng);
            (0..32).any(|i| {
                m.holes[i] || m.holes[31 * 32 + i] || m.holes[i * 32] || m.holes[i * 32 + 31]
            })
        })
        .count();
    assert!(touching > 10, "{touching}");
}

fn temp_dir(name: &str) -> common::Scratch {
    common::Scratch::new(&format!("masks-{name}"))
}

#[test]
fn mask_files_follow_the_spec_polarity() {
    use pconv::raster::HoleMap;
    let dir = temp_dir("polarity");
    // Grey: >= 128 is a hole.
    let grey =
        image::GrayImage::from_fn(4, 1, |x, _| image::Luma([[0u8, 127, 128, 255][x as usize]]));
    grey.save(dir.join("grey.png")).unwrap();
    let m = HoleMap::read(&dir.join("grey.png")).unwrap();
    assert_eq!(m.holes, vec![false, false, true, true]);
    // RGB(A): ITU-R 601 luma rounded as Pillow does, alpha ignored. Pure
    // green 255 -> 150 (hole), pure red 255 -> 76 (keep), pure blue -> 29
    // (keep), and (0, 218, 0) -> 127.97, rounded to 128: a hole.
    let rgba = image::RgbaImage::from_fn(4, 1, |x, _| {
        image::Rgba(
            [
                [0, 255, 0, 0],
                [255, 0, 0, 255],
                [0, 0, 255, 255],
                [0, 218, 0, 0],
            ][x as usize],
        )
    });
    rgba.save(dir.join("rgba.png")).unwrap();
    let m = HoleMap::read(&dir.join("rgba.png")).unwrap();
    assert_eq!(m.holes, vec![true, false, false, true]);
    assert_eq!(m.known_mask(), vec![0.0, 1.0, 1.0, 0.0]);
    // Round trip through the writer.
    m.to_image().save(dir.join("back.png")).unwrap();
    assert_eq!(HoleMap::read(&dir.join("back.png")).unwrap(), m);
    // Not an image: an error, not a panic.
    std::fs::write(dir.join("bad.png"), b"nope").unwrap();
    assert!(HoleMap::read(&dir.join("bad.png")).is_err());
}

#[test]
fn nearest_resize_and_the_eight_transforms() {
    use pconv::raster::HoleMap;
    // An asymmetric 3x2 pattern.
    let m = HoleMap {
        width: 3,
        height: 2,
        holes: vec![true, false, false, true, true, false],
    };
    let up = m.resize_nearest(6, 4);
    for y in 0..4 {
        for x in 0..6 {
            assert_eq!(up.holes[y * 6 + x], m.holes[(y / 2) * 3 + x / 2]);
        }
    }
    assert_eq!(up.resize_nearest(3, 2), m);
    let all: Vec<HoleMap> = (0..8).map(|k| m.transformed(k)).collect();
    for (k, t) in all.iter().enumerate() {
        assert_eq!(t.holes.iter().filter(|&&h| h).count(), 3, "transform {k}");
        for other in &all[..k] {
            assert_ne!(t, other, "transform {k} repeats another");
        }
    }
    // k = 1 rotates: the output is 2 wide and 3 high.
    assert_eq!((all[1].width, all[1].height), (2, 3));
}

#[test]
fn mask_folders_are_resized_and_deterministic() {
    use pconv::data::masks::MaskSource;
    let dir = temp_dir("folder");
    for i in 0..3u32 {
        image::GrayImage::from_fn(40 + i * 7, 30, |x, y| {
            image::Luma([if (x + i * y) % 5 == 0 { 255 } else { 0 }])
        })
        .save(dir.join(format!("m{i}.png")))
        .unwrap();
    }
    std::fs::write(dir.join("skip.txt"), b"x").unwrap();
    let src = MaskSource::folder(&dir).unwrap();
    let a = src.mask(16, 3, 10).unwrap();
    assert_eq!((a.width, a.height), (16, 16));
    assert_eq!(a, src.mask(16, 3, 10).unwrap());
    let distinct: std::collections::HashSet<Vec<bool>> =
        (0..20).map(|s| src.mask(16, 3, s).unwrap().holes).collect();
    assert!(distinct.len() > 3, "masks barely vary: {}", distinct.len());
    let empty = temp_dir("empty-folder");
    assert!(MaskSource::folder(&empty).is_err());
    // A run folder inside the mask folder (`train --out` there): its
    // sample grids are not masks.
    let with_run = temp_dir("folder-with-run");
    std::fs::create_dir_all(with_run.join("run/samples")).unwrap();
    image::GrayImage::new(8, 8)
        .save(with_run.join("run/samples/step-1.png"))
        .unwrap();
    assert!(MaskSource::folder(&with_run).is_ok());
    assert!(MaskSource::folder_except(&with_run, Some(&with_run.join("run"))).is_err());
}

/// Hole pixels with known pixels on both sides, horizontally or vertically:
/// the 1-pixel lines that real masks have at 128² (the paper's test masks
/// resized, a fine brush).
fn thin_hole_pixels(m: &pconv::raster::HoleMap) -> usize {
    let (w, h) = (m.width, m.height);
    let known = |x: usize, y: usize| !m.holes[y * w + x];
    let mut n = 0;
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let hole = m.holes[y * w + x];
            if hole
                && ((known(x - 1, y) && known(x + 1, y)) || (known(x, y - 1) && known(x, y + 1)))
            {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn thin_strokes_and_small_holes_are_generated() {
    let mut rng = SplitMix64(3);
    let masks: Vec<_> = (0..100)
        .map(|_| free_form_mask(128, 128, 0.01, 0.6, &mut rng))
        .collect();
    let with_thin = masks.iter().filter(|m| thin_hole_pixels(m) >= 10).count();
    assert!(
        with_thin >= 30,
        "only {with_thin} of 100 masks have 1-pixel lines"
    );
    // No shape overshoots the drawn target by more than 10 %: the ratios stay
    // near the range, and small targets give small masks.
    let max = masks.iter().map(|m| m.ratio()).fold(0.0, f64::max);
    assert!(max <= 0.6 * 1.1 + 1e-3, "max ratio {max}");
    let small = masks.iter().filter(|m| m.ratio() <= 0.1).count();
    assert!(small >= 8, "only {small} of 100 masks under 10 % holes");
}
