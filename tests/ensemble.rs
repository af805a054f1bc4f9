//! The self-ensemble: images and masks are flipped/rotated alike, every
//! fill is transformed back to its pixel, the fills are averaged, and the
//! model's ensemble is the mean of its single passes.
mod common;

use common::{gpu, Rng};
use pconv::infer::{Ensemble, PConvModel};
use pconv::model::{Checkpoint, UNetConfig};
use pconv::raster::HoleMap;
use pconv::raster::Planes;

/// A non-square image of random values, and holes where its red channel
/// is above 0.6 (so the holes follow the image through any transform).
fn image_and_holes(w: usize, h: usize, seed: u64) -> (Planes, HoleMap) {
    let mut rng = Rng::new(seed);
    let data: Vec<f32> = (0..3 * w * h).map(|_| rng.uniform() as f32).collect();
    let holes = HoleMap {
        width: w,
        height: h,
        holes: data[..w * h].iter().map(|&r| r > 0.6).collect(),
    };
    let image = Planes {
        width: w,
        height: h,
        data,
    };
    (image, holes)
}

/// A 3-level, 1/16-width network with fresh weights.
fn tiny_net(seed: u64) -> Checkpoint {
    let config = UNetConfig {
        levels: 3,
        width: 1.0 / 16.0,
    };
    Checkpoint::initial(config, seed).unwrap()
}

fn holes_of_red(p: &Planes) -> Vec<bool> {
    p.data[..p.width * p.height]
        .iter()
        .map(|&r| r > 0.6)
        .collect()
}

#[test]
fn images_and_masks_transform_alike() {
    let (image, holes) = image_and_holes(7, 4, 1);
    let mut seen = Vec::new();
    for k in 0..8 {
        let (t, m) = (image.transformed(k), holes.transformed(k));
        assert_eq!((t.width, t.height), (m.width, m.height), "transform {k}");
        assert_eq!(holes_of_red(&t), m.holes, "transform {k}");
        // Every channel moves the same way: green and blue keep their red.
        let plane = t.width * t.height;
        for i in 0..plane {
            let src = (0..plane)
                .find(|&j| image.data[j] == t.data[i])
                .expect("a value of the image");
            assert_eq!(t.data[plane + i], image.data[plane + src], "transform {k}");
            assert_eq!(t.data[2 * plane + i], image.data[2 * plane + src]);
        }
        assert!(!seen.contains(&t.data), "transform {k} repeats another");
        seen.push(t.data);
    }
}

#[test]
fn a_fill_that_follows_the_image_comes_back_unchanged() {
    // The "network" keeps known pixels and paints holes by position in its
    // own (transformed) frame's hole map: equivariant, so every transform
    // must land on the same pixels after transforming back.
    let (image, holes) = image_and_holes(9, 5, 2);
    let fill = |p: &Planes, m: &HoleMap| -> pconv::Result<Planes> {
        assert_eq!((p.width, p.height), (m.width, m.height));
        let mut out = p.clone();
        let plane = p.width * p.height;
        for (i, &hole) in m.holes.iter().enumerate() {
            if hole {
                out.data[i] = 1.0;
                out.data[plane + i] = 0.25;
            }
        }
        Ok(out)
    };
    let expected = fill(&image, &holes).unwrap();
    for n in [1, 2, 4, 8] {
        let got = Ensemble::new(n)
            .unwrap()
            .predict(&image, &holes, fill)
            .unwrap();
        assert_eq!((got.width, got.height), (9, 5));
        for (i, (g, e)) in got.data.iter().zip(&expected.data).enumerate() {
            assert!((g - e).abs() < 1e-6, "ensemble {n}, value {i}: {g} vs {e}");
        }
    }
}

#[test]
fn a_fill_tied_to_its_frame_averages_out() {
    // A fill that is a left-to-right ramp in whatever frame it sees: the
    // mirror image's ramp runs the other way, so 2, 4 or 8 transforms
    // average to 0.5 everywhere, while one pass is the ramp itself.
    let (image, holes) = image_and_holes(6, 3, 3);
    let ramp = |p: &Planes, _: &HoleMap| -> pconv::Result<Planes> {
        let w = p.width;
        Ok(Planes {
            width: w,
            height: p.height,
            data: (0..p.data.len())
                .map(|i| (i % w) as f32 / (w - 1) as f32)
                .collect(),
        })
    };
    let one = Ensemble::SINGLE.predict(&image, &holes, ramp).unwrap();
    assert_eq!(one.data[0], 0.0);
    assert_eq!(one.data[5], 1.0);
    for n in [2, 4, 8] {
        let got = Ensemble::new(n)
            .unwrap()
            .predict(&image, &holes, ramp)
            .unwrap();
        assert!(
            got.data.iter().all(|v| (v - 0.5).abs() < 1e-6),
            "ensemble {n}: {:?}",
            &got.data[..6]
        );
    }
    let mut calls = Vec::new();
    Ensemble::ALL
        .predict(&image, &holes, |p, m| {
            calls.push((p.width, p.height, m.ratio()));
            ramp(p, m)
        })
        .unwrap();
    assert_eq!(calls.len(), 8);
    assert_eq!(calls.iter().filter(|c| (c.0, c.1) == (3, 6)).count(), 4);
    assert!(calls.iter().all(|c| c.2 == holes.ratio()));
}

#[test]
fn ensembles_other_than_1_2_4_8_are_refused() {
    for n in [0, 3, 5, 16] {
        let err = Ensemble::new(n).unwrap_err().to_string();
        assert!(err.contains("1, 2, 4 or 8"), "{err}");
    }
    assert_eq!(Ensemble::new(8).unwrap(), Ensemble::ALL);
}

#[test]
fn the_models_ensemble_is_the_mean_of_its_passes() {
    let Some(ctx) = gpu() else { return };
    let ck = tiny_net(4);
    let (image, holes) = image_and_holes(13, 9, 5);
    let mut model = PConvModel::new(&ctx, ck);
    assert_eq!(model.ensemble(), Ensemble::SINGLE);
    let single = model.predict(&image, &holes).unwrap();
    // The mirror image's fill, mirrored back by hand.
    let mirrored = model
        .predict(&image.transformed(2), &holes.transformed(2))
        .unwrap();
    model.set_ensemble(Ensemble::new(2).unwrap());
    // Each pass is reported.
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = told.clone();
    model.set_progress(Some(Box::new(move |done, total| {
        sink.lock().unwrap().push((done, total))
    })));
    let pair = model.predict(&image, &holes).unwrap();
    assert_eq!(*told.lock().unwrap(), [(1, 2), (2, 2)]);
    let (w, h) = (13, 9);
    let mut differs = false;
    for c in 0..3 {
        for y in 0..h {
            for x in 0..w {
                let i = (c * h + y) * w + x;
                let back = mirrored.data[(c * h + y) * w + (w - 1 - x)];
                let mean = 0.5 * (single.data[i] + back);
                assert!(
                    (pair.data[i] - mean).abs() < 1e-6,
                    "({c}, {x}, {y}): {} vs {mean}",
                    pair.data[i]
                );
                differs |= (pair.data[i] - single.data[i]).abs() > 1e-4;
            }
        }
    }
    assert!(differs, "a fresh network is not mirror-symmetric");
    model.set_ensemble(Ensemble::ALL);
    let all = model.predict(&image, &holes).unwrap();
    assert_eq!((all.width, all.height), (w, h));
    assert!(all.data.iter().all(|v| v.is_finite()));
}

#[test]
fn the_window_shows_one_pass_as_a_texture_and_an_ensemble_as_an_image() {
    use pconv::app::worker::{fill, Composite, MAX_SIDE};
    use pconv::infer::{large, Method};
    let Some(ctx) = gpu() else { return };
    let (image, holes) = image_and_holes(20, 12, 6);
    let rgb = image.to_rgb();
    let mut model = PConvModel::new(&ctx, tiny_net(7));
    model.set_ensemble(Ensemble::ALL);
    let mut method = Method::PConv(Box::new(model));
    let averaged = large::inpaint(&mut method, &rgb, &holes, MAX_SIDE).unwrap();
    match fill(&mut method, &rgb, &holes, true).unwrap() {
        Composite::Image(img) => assert_eq!(*img, averaged),
        Composite::Texture(_) => panic!("a texture holds one forward pass"),
    }
    if let Method::PConv(m) = &mut method {
        m.set_ensemble(Ensemble::SINGLE);
    }
    let shown = fill(&mut method, &rgb, &holes, true).unwrap();
    assert!(matches!(shown, Composite::Texture(_)));
    assert_ne!(*shown.image().unwrap(), averaged);
    // Blended with a classical fill at the holes' edges: the composite is
    // made on the CPU, not shown from the network's texture.
    if let Method::PConv(m) = &mut method {
        m.set_blend_depth(8);
    }
    let blended = large::inpaint(&mut method, &rgb, &holes, MAX_SIDE).unwrap();
    assert_ne!(blended, *shown.image().unwrap());
    match fill(&mut method, &rgb, &holes, true).unwrap() {
        Composite::Image(img) => assert_eq!(*img, blended),
        Composite::Texture(_) => panic!("a texture holds the network's fill alone"),
    }
}
