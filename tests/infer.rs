//! Inference and evaluation: the composite keeps known pixels bit for bit,
//! any size works (padding and cropping, 1x1, 100x75), large images take
//! the crop path, Telea fills smooth images well, the metrics are right,
//! and images pair with masks as documented.
mod common;

use std::path::PathBuf;

use common::gpu;
use image::RgbImage;
use pconv::infer::eval::{bins, pair, to_json, ImageResult};
use pconv::infer::quality::{l1, psnr, ssim, PSNR_CAP_DB};
use pconv::infer::Classical;
use pconv::infer::{large, Method, PConvModel};
use pconv::model::{Checkpoint, SplitMix64, UNetConfig};
use pconv::raster::planes::{composite, fit_mask, Planes};
use pconv::raster::HoleMap;

fn photo(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut rng = SplitMix64(seed);
    RgbImage::from_fn(w, h, |x, y| {
        let n = (rng.uniform() * 40.0) as u32;
        image::Rgb([
            ((x * 255 / w.max(1)) + n).min(255) as u8,
            ((y * 255 / h.max(1)) + n).min(255) as u8,
            ((x + y) * 3 % 256) as u8,
        ])
    })
}

fn holes(w: usize, h: usize, f: impl Fn(usize, usize) -> bool) -> HoleMap {
    HoleMap {
        width: w,
        height: h,
        holes: (0..w * h).map(|i| f(i % w, i / w)).collect(),
    }
}

/// A 3-level, 1/16-width network with fresh weights.
fn tiny_net(seed: u64) -> Checkpoint {
    let config = UNetConfig {
        levels: 3,
        width: 1.0 / 16.0,
    };
    Checkpoint::initial(config, seed).unwrap()
}

fn assert_known_pixels_kept(input: &RgbImage, out: &RgbImage, m: &HoleMap) {
    assert_eq!(input.dimensions(), out.dimensions());
    for (x, y, p) in input.enumerate_pixels() {
        if !m.holes[y as usize * m.width + x as usize] {
            assert_eq!(p, out.get_pixel(x, y), "known pixel ({x}, {y}) changed");
        }
    }
}

#[test]
fn pconv_any_size_keeps_known_pixels_and_fills_holes() {
    let Some(ctx) = gpu() else { return };
    let ck = tiny_net(5);
    let model = PConvModel::new(&ctx, ck);
    assert_eq!(model.padded_size(100, 75), (104, 80));
    assert_eq!(model.padded_size(1, 1), (8, 8));
    let mut method = Method::PConv(Box::new(model));
    for (w, h) in [(100usize, 75usize), (1, 1), (16, 8), (9, 13)] {
        let img = photo(w as u32, h as u32, 1);
        for (name, m) in [
            (
                "border box",
                holes(w, h, |x, y| x < w / 2 + 1 && y < h / 3 + 1),
            ),
            ("no holes", holes(w, h, |_, _| false)),
            ("all holes", holes(w, h, |_, _| true)),
        ] {
            let pred = method.predict(&Planes::from_rgb(&img), &m).unwrap();
            assert_eq!((pred.width, pred.height), (w, h), "{name} {w}x{h}");
            assert!(pred.data.iter().all(|v| v.is_finite()), "{name} {w}x{h}");
            let out = composite(&img, &pred, &m);
            assert_known_pixels_kept(&img, &out, &m);
            if name == "no holes" {
                assert_eq!(out, img);
            }
        }
    }
}

#[test]
fn the_window_texture_holds_the_same_composite_as_the_cpu_path() {
    let Some(ctx) = gpu() else { return };
    let ck = tiny_net(9);
    let mut model = PConvModel::new(&ctx, ck);
    let mut rng = SplitMix64(3);
    for (w, h) in [(100usize, 75usize), (1, 1), (9, 13), (64, 8), (33, 17)] {
        let img = photo(w as u32, h as u32, 4);
        let random: Vec<bool> = (0..w * h).map(|_| rng.uniform() < 0.3).collect();
        for (name, m) in [
            (
                "border box",
                holes(w, h, |x, y| x < w / 2 + 1 && y < h / 3 + 1),
            ),
            ("random", holes(w, h, |x, y| random[y * w + x])),
            ("no holes", holes(w, h, |_, _| false)),
            ("all holes", holes(w, h, |_, _| true)),
        ] {
            let planes = Planes::from_rgb(&img);
            let shown = model.composite_texture(&planes, &m).unwrap();
            assert!(shown.lives_on(&ctx.device));
            assert_eq!(shown.size(), (w, h), "{name} {w}x{h}");
            let on_gpu = shown.read().unwrap();
            let on_cpu = composite(&img, &model.predict(&planes, &m).unwrap(), &m);
            assert_known_pixels_kept(&img, &on_gpu, &m);
            let holes_differing = on_gpu
                .pixels()
                .zip(on_cpu.pixels())
                .flat_map(|(a, b)| a.0.iter().zip(b.0).map(|(&a, b)| a.abs_diff(b)))
                .max()
                .unwrap();
            // The same f32 prediction, quantised alike; a fused multiply-add
            // may move a value sitting on a rounding edge by one step.
            assert!(
                holes_differing <= 1,
                "{name} {w}x{h}: off by {holes_differing}"
            );
            if m.holes.iter().any(|&h| h) {
                assert_ne!(on_gpu, img, "{name} {w}x{h}: the holes were filled");
            }
        }
    }
}

#[test]
fn telea_fills_smooth_images_closely_and_keeps_known_pixels() {
    // A smooth gradient with a 6x6 hole and holes on the border.
    let (w, h) = (40usize, 30usize);
    let img = RgbImage::from_fn(w as u32, h as u32, |x, y| {
        image::Rgb([(x * 6) as u8, (y * 8) as u8, ((x + y) * 3) as u8])
    });
    let m = holes(w, h, |x, y| {
        ((15..21).contains(&x) && (10..16).contains(&y)) || x == 0 || y == h - 1
    });
    let pred = Classical::Telea
        .predict(&Planes::from_rgb(&img), &m, 5)
        .unwrap();
    let out = composite(&img, &pred, &m);
    assert_known_pixels_kept(&img, &out, &m);
    // OpenCV's Telea is a weighted average of pixels up to the radius away
    // (its gradient term is normalised to at most √2 levels), so a fill
    // stays within the values around it: within 2 levels of the channel's
    // known range, and on average within one pixel's rise of the steepest
    // channel (8 levels) of the truth.
    let (mut sum, mut n) = (0i64, 0i64);
    for (x, y, p) in out.enumerate_pixels() {
        if !m.holes[y as usize * w + x as usize] {
            continue;
        }
        let q = img.get_pixel(x, y);
        for c in 0..3 {
            let known = img
                .enumerate_pixels()
                .filter(|(kx, ky, _)| !m.holes[*ky as usize * w + *kx as usize])
                .map(|(_, _, k)| k[c] as i32);
            let (lo, hi) = known.fold((255, 0), |(lo, hi), v| (lo.min(v), hi.max(v)));
            assert!(
                (lo - 2..=hi + 2).contains(&(p[c] as i32)),
                "({x}, {y}) channel {c}"
            );
            sum += (p[c] as i64 - q[c] as i64).abs();
            n += 1;
        }
    }
    let mean = sum as f64 / n as f64;
    assert!(mean <= 8.0, "mean error {mean} levels");
    // No known pixel at all: mid-grey.
    let all = holes(w, h, |_, _| true);
    let grey = Classical::Telea
        .predict(&Planes::from_rgb(&img), &all, 5)
        .unwrap();
    assert!(grey.data.iter().all(|&v| v == 128.0 / 255.0));
}

#[test]
fn large_images_use_a_crop_around_the_holes() {
    let img = photo(300, 200, 2);
    let m = holes(300, 200, |x, y| {
        (140..150).contains(&x) && (90..97).contains(&y)
    });
    let mut method = Method::Classical {
        method: Classical::Telea,
        radius: 5,
    };
    let whole = large::inpaint(&mut method, &img, &m, 1024).unwrap();
    let cropped = large::inpaint(&mut method, &img, &m, 120).unwrap();
    let shrunk = large::inpaint(&mut method, &img, &m, 24).unwrap();
    for out in [&whole, &cropped, &shrunk] {
        assert_known_pixels_kept(&img, out, &m);
    }
    // Telea only looks 5 px around the hole, so the crop changes nothing.
    assert_eq!(whole, cropped);
    // Downscaled, the result is close but not identical.
    assert!(l1(&whole, &shrunk) < 0.01);
    // No holes: the image comes back as it is.
    let none = holes(300, 200, |_, _| false);
    assert_eq!(large::inpaint(&mut method, &img, &none, 64).unwrap(), img);
}

/// Removing an object must not tint the fill with it: what lies under the
/// holes reaches no step of any method, at full size or downscaled for a
/// large image (where a plain resize would blend it into the known pixels
/// around the holes). The holes stay 4 px from the image's edge: there
/// OpenCV's own Telea and Navier–Stokes read hole pixels (a few values
/// change by 1–3 levels), and pconv's are OpenCV's exactly.
#[test]
fn the_fill_never_depends_on_what_the_holes_hold() {
    let img = photo(300, 200, 3);
    let m = holes(300, 200, |x, y| {
        let inside = (4..296).contains(&x) && (4..196).contains(&y);
        (60..230).contains(&x) && (50..150).contains(&y) || inside && (x + 2 * y) % 97 == 0
    });
    let mut red = img.clone();
    for (x, y, p) in red.enumerate_pixels_mut() {
        if m.holes[y as usize * 300 + x as usize] {
            *p = image::Rgb([255, (x % 7) as u8, 0]);
        }
    }
    let mut methods: Vec<Method> = [
        Classical::NavierStokes,
        Classical::Telea,
        Classical::Biharmonic,
        Classical::Fsr,
    ]
    .into_iter()
    .map(|method| Method::Classical { method, radius: 3 })
    .collect();
    if let Some(ctx) = gpu() {
        // The network with the default fill's mirror image and edge blend.
        let mut model = PConvModel::new(&ctx, tiny_net(6));
        model.set_ensemble(pconv::infer::Ensemble::MIRROR);
        model.set_blend_depth(pconv::infer::edge_blend::DEFAULT_BLEND_DEPTH);
        methods.push(Method::PConv(Box::new(model)));
    }
    for mut method in methods {
        // 1024: whole; 200: a crop downscaled to 200 px; 64: to 64 px.
        for max_side in [1024, 200, 64] {
            let a = large::inpaint(&mut method, &img, &m, max_side).unwrap();
            let b = large::inpaint(&mut method, &red, &m, max_side).unwrap();
            let differ = a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count();
            assert_eq!(
                differ,
                0,
                "{} at max side {max_side}: pixels differ",
                method.name()
            );
        }
    }
}

/// Downscaled from the known pixels alone: a uniform known area stays
/// exactly uniform next to holes of any colour, and the holes shrink as
/// `HoleMap::shrunk` says.
#[test]
fn downscaling_for_the_network_reads_known_pixels_only() {
    let m = holes(90, 60, |x, y| {
        (20..50).contains(&x) && (10..41).contains(&y)
    });
    let mut planes = Planes::from_rgb(&photo(90, 60, 4));
    let plane = 90 * 60;
    for i in 0..plane {
        for c in 0..3 {
            planes.data[c * plane + i] = if m.holes[i] { 1.0 } else { 0.25 * c as f32 };
        }
    }
    let (small, small_holes) = planes.shrunk_from_known(&m, 31, 20);
    assert_eq!(small_holes, m.shrunk(31, 20));
    let small_plane = 31 * 20;
    for i in (0..small_plane).filter(|&i| !small_holes.holes[i]) {
        for c in 0..3 {
            let v = small.data[c * small_plane + i];
            assert!(
                (v - 0.25 * c as f32).abs() < 1e-6,
                "pixel {i} channel {c}: {v}"
            );
        }
    }
}

/// The net side: a model works at most at the largest scale it was
/// trained at (its crop size times its crop scale's maximum; none without
/// `train.size`), and an image past its net side is filled as its
/// downscale from the known pixels would be, upscaled.
#[test]
fn the_network_works_at_most_at_its_net_side() {
    let mut ck = tiny_net(8);
    assert_eq!(pconv::infer::pconv::default_net_side(&ck), None);
    ck.extra.insert("train.size".into(), "40".into());
    assert_eq!(pconv::infer::pconv::default_net_side(&ck), Some(40));
    ck.extra.insert("train.crop_scale".into(), "1:2.5".into());
    assert_eq!(pconv::infer::pconv::default_net_side(&ck), Some(100));
    let Some(ctx) = gpu() else { return };
    let planes = Planes::from_rgb(&photo(100, 75, 9));
    let m = holes(100, 75, |x, y| {
        (30..70).contains(&x) && (20..50).contains(&y)
    });
    // A new model takes the checkpoint's default.
    let mut capped = PConvModel::new(&ctx, ck.clone());
    assert_eq!(capped.net_side(), Some(100));
    capped.set_net_side(Some(40));
    let (small, small_holes) = planes.shrunk_from_known(&m, 40, 30);
    let mut full = PConvModel::new(&ctx, ck);
    full.set_net_side(None);
    let expected = full.predict(&small, &small_holes).unwrap().resized(100, 75);
    assert_eq!(capped.predict(&planes, &m).unwrap(), expected);
    // Within its net side an image runs at its own size.
    capped.set_net_side(Some(100));
    assert_eq!(
        capped.predict(&planes, &m).unwrap(),
        full.predict(&planes, &m).unwrap()
    );
}

#[test]
fn masks_of_another_size_are_refused_unless_resized() {
    let m = holes(8, 6, |x, _| x < 4);
    let err = fit_mask(m.clone(), 16, 12, false).unwrap_err().to_string();
    assert!(
        err.contains("8x6") && err.contains("16x12") && err.contains("--resize-mask"),
        "{err}"
    );
    let r = fit_mask(m, 16, 12, true).unwrap();
    assert_eq!((r.width, r.height), (16, 12));
    assert_eq!(r.ratio(), 0.5);
}

#[test]
fn metrics_match_hand_computed_values() {
    let a = RgbImage::from_pixel(16, 16, image::Rgb([100, 100, 100]));
    let mut b = a.clone();
    assert_eq!(l1(&a, &b), 0.0);
    assert_eq!(psnr(&a, &b), PSNR_CAP_DB);
    assert!((ssim(&a, &b) - 1.0).abs() < 1e-12);
    // Every value off by 51 levels (0.2): L1 0.2, PSNR 10 log10(1 / 0.04).
    for p in b.pixels_mut() {
        p.0 = [151, 151, 151];
    }
    assert!((l1(&a, &b) - 0.2).abs() < 1e-12);
    assert!((psnr(&a, &b) - 10.0 * (1.0f64 / 0.04).log10()).abs() < 1e-9);
    // A constant shift lowers SSIM through the luminance term only.
    let s = ssim(&a, &b);
    let (mx, my, c1) = (100.0 / 255.0, 151.0 / 255.0, 1e-4);
    let want = (2.0 * mx * my + c1) / (mx * mx + my * my + c1);
    assert!((s - want).abs() < 1e-9, "{s} vs {want}");
    // Noise lowers SSIM below 1.
    let noisy = photo(16, 16, 3);
    assert!(ssim(&noisy, &photo(16, 16, 4)) < 0.99);
}

#[test]
fn images_pair_with_masks_by_stem_else_in_turn() {
    let p = |s: &str| PathBuf::from(s);
    let images = [p("a/cat.png"), p("a/dog.jpg"), p("a/owl.png")];
    let masks = [p("m/0.png"), p("m/dog.png")];
    let pairs = pair(&images, &masks);
    assert_eq!(
        pairs,
        vec![
            (p("a/cat.png"), p("m/0.png")),
            (p("a/dog.jpg"), p("m/dog.png")),
            (p("a/owl.png"), p("m/0.png")),
        ]
    );
    assert!(pair(&images, &[]).is_empty());
}

#[test]
fn bins_and_json_follow_the_paper_and_the_issue() {
    let r = |ratio: f64, l1: f64| ImageResult {
        image: PathBuf::from("i.png"),
        mask: PathBuf::from("m.png"),
        hole_ratio: ratio,
        l1,
        psnr: 30.0,
        ssim: 0.9,
        losses: pconv::loss::LossTerms::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]),
    };
    let results = [r(0.05, 0.01), r(0.1, 0.03), r(0.15, 0.02), r(0.7, 0.5)];
    let b = bins(&results);
    assert_eq!(b.len(), 7);
    assert_eq!(b[0].count, 2, "(0.01, 0.1] holds 0.05 and 0.1");
    assert!((b[0].l1 - 0.02).abs() < 1e-12);
    assert_eq!(b[1].count, 1);
    assert_eq!(b[6].count, 4, "all");
    let j = to_json(&results, &b);
    let img = &j["images"][0];
    for k in [
        "image",
        "mask",
        "hole_ratio",
        "l1",
        "psnr",
        "ssim",
        "losses",
    ] {
        assert!(!img[k].is_null(), "{k}");
    }
    for k in [
        "valid",
        "hole",
        "perc",
        "style_out",
        "style_comp",
        "tv",
        "total",
    ] {
        assert!(img["losses"][k].is_number(), "losses.{k}");
    }
    assert_eq!(j["bins"][0]["range"], serde_json::json!([0.01, 0.1]));
    assert_eq!(j["bins"][2]["count"], 0);
    assert!(j["bins"][2]["l1"].is_null(), "an empty bin has no mean");
}

/// `bench --suite --profile` times inference per dispatch: the profile of
/// the last forward pass covers its dispatches (the hoisted weight packing
/// aside), and profiling leaves the prediction as it was.
#[test]
fn the_last_forward_pass_can_be_profiled() {
    let Some(ctx) = gpu() else { return };
    let mut model = PConvModel::new(&ctx, tiny_net(5));
    assert!(model.profile_last_run().is_none(), "nothing has run yet");
    let img = Planes::from_rgb(&photo(32, 24, 2));
    let m = holes(32, 24, |x, y| (x + y) % 5 == 0);
    let before = model.predict(&img, &m).unwrap();
    let profile = model.profile_last_run().unwrap().unwrap();
    let (dispatches, _) = model.last_run_stats().unwrap();
    assert_eq!(profile.dispatches.len(), dispatches);
    assert!(profile.dispatches.iter().all(|d| d.seconds >= 0.0));
    assert_eq!(model.predict(&img, &m).unwrap().data, before.data);
}

/// The bundled model at its own size gives the same output through the
/// kernel paths a device may take: texel arrays and subgroups (lavapipe)
/// against plain buffers (GPUs), at the shapes of real use (the op tests
/// use small ones).
#[test]
fn the_bundled_model_agrees_across_kernel_paths() {
    use pconv::gpu::Executor;
    use pconv::graph::Graph;
    use pconv::kernels::{DeviceTraits, MixedKernels};
    use pconv::model::{Mode, UNet};
    let Some(ctx) = gpu() else { return };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/models/faces128.safetensors");
    let ck = Checkpoint::read(&path).unwrap();
    let img = photo(128, 128, 5);
    let m = holes(128, 128, |x, y| {
        (x / 9 + y / 13) % 4 == 0 || (30..70).contains(&x)
    });
    let planes = Planes::from_rgb(&img);
    let known: Vec<f32> = m.known_mask();
    let run = |traits: DeviceTraits| {
        let mut g = Graph::new();
        let image = g.input("image", &[1, 3, 128, 128]);
        let mask = g.input("mask", &[1, 1, 128, 128]);
        let net = UNet::declare(&mut g, ck.config, Mode::Eval).unwrap();
        let out = net.forward(&mut g, image, mask, Mode::Eval).unwrap();
        let exec = Executor::with_traits(&ctx, &g, &[out, image, mask], &traits).unwrap();
        net.upload(&exec, &ck).unwrap();
        exec.write(image, &planes.data).unwrap();
        exec.write(mask, &known).unwrap();
        exec.run();
        exec.read(out).unwrap()
    };
    let device = run(DeviceTraits {
        mixed: MixedKernels::Off,
        ..ctx.traits()
    });
    let plain = run(DeviceTraits {
        subgroups_8_to_64: false,
        texel_rows: 0,
        flat_subgroup_size: 0,
        mixed: MixedKernels::Off,
        ..ctx.traits()
    });
    let worst = device
        .iter()
        .zip(&plain)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "outputs differ by up to {worst}");
    // Mixed precision (f16 operands, f32 sums): each convolution's output
    // moves by up to 2^-9 of its terms' magnitudes (tests/mixed_precision.rs
    // checks that bound per op). Through 16 layers no bound that tight
    // composes, so this is an acceptance criterion with margin over what
    // the twin gave on lavapipe (76 dB against f32, worst value 0.0038, one
    // 8-bit level): the model's result stays within a few levels.
    if ctx.mixed_precision().f16 {
        let mut kinds = vec![MixedKernels::Twin];
        if ctx.mixed_precision().coop_16x16_f16 {
            kinds.push(MixedKernels::Coop);
        }
        for mixed in kinds {
            let out = run(DeviceTraits {
                mixed,
                ..ctx.traits()
            });
            let (mut worst, mut squares) = (0.0f32, 0.0f64);
            for (a, b) in out.iter().zip(&device) {
                worst = worst.max((a - b).abs());
                squares += ((a - b) as f64).powi(2);
            }
            let psnr = -10.0 * (squares / out.len() as f64).log10();
            eprintln!("{mixed:?}: worst {worst}, PSNR against f32 {psnr:.1} dB");
            assert!(
                worst < 4.0 / 255.0 && psnr > 60.0,
                "{mixed:?}: worst {worst}, {psnr:.1} dB"
            );
        }
    }
}

#[test]
fn feathering_blends_the_fill_into_the_nearest_known_pixels_only() {
    use pconv::raster::planes::composite_feathered;
    let (w, h) = (12usize, 9usize);
    let img = RgbImage::from_fn(w as u32, h as u32, |_, _| image::Rgb([200, 100, 0]));
    let m = holes(w, h, |x, y| (4..6).contains(&x) && (3..5).contains(&y));
    // A prediction of 0.0 everywhere: blending shows as darkening.
    let pred = Planes {
        width: w,
        height: h,
        data: vec![0.0; 3 * w * h],
    };
    // Without feathering: the holes alone take the prediction.
    for (x, y, p) in composite_feathered(&img, &pred, &m, 0).enumerate_pixels() {
        let hole = m.holes[y as usize * w + x as usize];
        assert_eq!(p[0], if hole { 0 } else { 200 }, "({x}, {y})");
    }
    let out = composite_feathered(&img, &pred, &m, 2);
    let near = m.squared_distances(true);
    for (x, y, p) in out.enumerate_pixels() {
        let d = (near[y as usize * w + x as usize] as f32).sqrt();
        let want = if d == 0.0 {
            0
        } else if d <= 2.0 {
            // (1 − d / 3) of the prediction (0), the rest the photo (200).
            (200.0 * d / 3.0 + 0.5).floor() as u8
        } else {
            200
        };
        assert_eq!(p[0], want, "({x}, {y}) at distance {d}");
    }
}

/// A result goes back into the photo's own pixel format: a grey photo
/// takes the mean of a tinted fill's channels, a known pixel the result
/// left alone keeps its stored value, a changed one (a feathered edge)
/// its alpha, a hole becomes opaque.
#[test]
fn a_grey_photo_takes_the_mean_of_a_tinted_fill() {
    use pconv::raster::photo::{compose, planes_of, Placement};
    let (w, h) = (5usize, 3usize);
    let original = image::DynamicImage::ImageLumaA16(image::ImageBuffer::from_fn(5, 3, |x, y| {
        image::LumaA([1000 * x as u16 + 7 * y as u16 + 1, 40000])
    }));
    let input = planes_of(&original);
    let m = holes(w, h, |x, y| x == 2 && y == 1);
    let mut result = input.clone();
    let plane = w * h;
    // The hole: tinted (0.2, 0.4, 0.9); pixel (0, 0): nudged.
    for (c, v) in [0.2f32, 0.4, 0.9].into_iter().enumerate() {
        result.data[c * plane + w + 2] = v;
    }
    result.data[0] += 0.25;
    let out = compose(&original, Placement::default(), &input, &result, &m);
    let out = out.as_luma_alpha16().expect("16-bit grey with alpha");
    let level = |v: f32| (65535.0 * v + 0.5).floor() as u16;
    assert_eq!(out.get_pixel(2, 1).0, [level(0.5), 65535]);
    let nudged = (input.data[0] + 0.25 + 2.0 * input.data[0]) / 3.0;
    assert_eq!(out.get_pixel(0, 0).0, [level(nudged), 40000]);
    let original = original.as_luma_alpha16().unwrap();
    for (x, y, p) in out.enumerate_pixels() {
        if (x, y) != (2, 1) && (x, y) != (0, 0) {
            assert_eq!(p, original.get_pixel(x, y), "({x}, {y})");
        }
    }
}
