//! The `pconv` binary on bad input and in batch mode: one-line errors and a
//! non-zero exit code, never a panic; in a folder, one bad pair is reported
//! and the others are done.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use pconv::io::safetensors::SafeTensors;
use pconv::model::{Checkpoint, UNetConfig};
use pconv::raster::HoleMap;

fn dir(name: &str) -> common::Scratch {
    common::Scratch::new(&format!("cli-{name}"))
}

/// Runs pconv; returns (success, stderr).
fn pconv(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pconv"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "pconv {args:?} panicked: {err}");
    (out.status.success(), err)
}

/// `pconv eval --no-losses ARGS --json JSON`, which must succeed; returns
/// the printed table and the JSON.
fn eval(args: &[&str], json: &Path) -> (String, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_pconv"))
        .arg("eval")
        .arg("--no-losses")
        .args(args)
        .args(["--json", s(json)])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = std::fs::read_to_string(json).unwrap();
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        serde_json::from_str(&text).unwrap(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write_pair(d: &Path, name: &str, w: u32, h: u32, mask_w: u32) -> (PathBuf, PathBuf) {
    let img = d.join(format!("{name}.png"));
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * x * 3 % 251) as u8,
            (y * y * 5 % 253) as u8,
            (x * y * 7 % 255) as u8,
        ])
    })
    .save(&img)
    .unwrap();
    let mask = d.join(format!("{name}-mask.png"));
    image::GrayImage::from_fn(mask_w, h, |x, y| {
        image::Luma([if (3..7).contains(&x) && (2..5).contains(&y) {
            255
        } else {
            0
        }])
    })
    .save(&mask)
    .unwrap();
    (img, mask)
}

/// `pconv inpaint --image IMAGE --mask MASK --output OUTPUT EXTRA...`
fn inpaint(image: &Path, mask: &Path, output: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec![
        "inpaint",
        "--image",
        s(image),
        "--mask",
        s(mask),
        "--output",
        s(output),
    ];
    args.extend_from_slice(extra);
    pconv(&args)
}

/// Asserts that `output` keeps every known pixel of `input` (per `mask`)
/// and returns how many hole pixels changed.
fn holes_changed_known_kept(input: &Path, output: &Path, mask: &Path) -> usize {
    let (a, b) = (
        image::open(input).unwrap().to_rgb8(),
        image::open(output).unwrap().to_rgb8(),
    );
    let m = HoleMap::read(mask).unwrap();
    let mut changed = 0;
    for (x, y, p) in b.enumerate_pixels() {
        if m.holes[(y * a.width() + x) as usize] {
            changed += usize::from(p != a.get_pixel(x, y));
        } else {
            assert_eq!(p, a.get_pixel(x, y), "known pixel ({x}, {y})");
        }
    }
    changed
}

#[test]
fn single_image_with_telea_keeps_known_pixels() {
    let d = dir("single");
    let (img, mask) = write_pair(&d, "a", 20, 12, 20);
    let out = d.join("out.jpg");
    let (ok, err) = inpaint(&img, &mask, &out, &["--method", "telea"]);
    assert!(ok, "{err}");
    // JPEG from the extension.
    assert_eq!(
        image::ImageFormat::from_path(&out).unwrap(),
        image::ImageFormat::Jpeg
    );
    let png = d.join("out.png");
    let (ok, err) = inpaint(&img, &mask, &png, &["--method", "telea"]);
    assert!(ok, "{err}");
    let changed = holes_changed_known_kept(&img, &png, &mask);
    assert!(changed > 0, "a non-linear image is not filled exactly");
}

#[test]
fn the_classical_methods_with_their_radius() {
    let d = dir("classical");
    let (img, mask) = write_pair(&d, "a", 24, 16, 24);
    let input = image::open(&img).unwrap().to_rgb8();
    let holes = HoleMap::read(&mask).unwrap();
    for (name, method) in [
        ("telea", pconv::infer::Classical::Telea),
        ("ns", pconv::infer::Classical::NavierStokes),
        ("biharmonic", pconv::infer::Classical::Biharmonic),
        ("fsr", pconv::infer::Classical::Fsr),
    ] {
        let radii = if matches!(name, "telea" | "ns") {
            &[(3, None), (6, Some("6"))][..]
        } else {
            &[(3, None)][..]
        };
        for &(radius, extra) in radii {
            let out = d.join(format!("{name}{radius}.png"));
            let mut args = vec!["--method", name];
            if let Some(r) = extra {
                args.extend(["--radius", r]);
            }
            let (ok, err) = inpaint(&img, &mask, &out, &args);
            assert!(ok, "{err}");
            // The command runs the library's method, default radius 3.
            let expected = method.inpaint(&input, &holes, radius).unwrap();
            assert_eq!(
                image::open(&out).unwrap().to_rgb8(),
                expected,
                "{name} r{radius}"
            );
        }
    }
    for (extra, needle) in [
        (&["--radius", "3"][..], "telea and ns only"),
        (
            &["--method", "fsr", "--radius", "3"][..],
            "telea and ns only",
        ),
        (&["--method", "ns", "--radius", "0"][..], "1 to 100"),
        (&["--method", "ns", "--ensemble", "2"][..], "--method pconv"),
    ] {
        let (ok, err) = inpaint(&img, &mask, &d.join("x.png"), extra);
        assert!(!ok && err.contains(needle), "{extra:?}: {err}");
    }
}

#[test]
fn fit_this_image_fills_the_holes_and_keeps_known_pixels() {
    let d = dir("fit");
    let (img, mask) = write_pair(&d, "a", 40, 36, 40);
    let out = d.join("out.png");
    let (ok, err) = inpaint(&img, &mask, &out, &["--method", "fit", "--fit-steps", "2"]);
    assert!(ok, "{err}");
    holes_changed_known_kept(&img, &out, &mask);
    // Too small for the fitted network: a clear error.
    let (tiny, tiny_mask) = write_pair(&d, "tiny", 12, 12, 12);
    let (ok, err) = inpaint(&tiny, &tiny_mask, &d.join("t.png"), &["--method", "fit"]);
    assert!(!ok && err.contains("smaller than 16x16"), "{err}");
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let d = dir("bad");
    let (img, mask) = write_pair(&d, "a", 20, 12, 20);
    let (_, wide_mask) = write_pair(&d, "b", 20, 12, 24);
    let out = d.join("out.png");
    let garbage = d.join("garbage.png");
    std::fs::write(&garbage, b"not a png").unwrap();
    let telea = |image: &Path, mask: &Path| inpaint(image, mask, &out, &["--method", "telea"]);
    for (what, (ok, err), needle) in [
        ("unreadable image", telea(&garbage, &mask), "garbage.png"),
        ("unreadable mask", telea(&img, &garbage), "garbage.png"),
        (
            "missing image",
            telea(&d.join("nope.png"), &mask),
            "nope.png",
        ),
        ("mask size", telea(&img, &wide_mask), "--resize-mask"),
    ] {
        assert!(!ok, "{what} succeeded");
        assert!(
            err.trim().lines().count() == 1 && err.starts_with("error:"),
            "{what}: {err}"
        );
        assert!(err.contains(needle), "{what}: {err}");
    }
    let (ok, err) = inpaint(
        &img,
        &wide_mask,
        &out,
        &["--method", "telea", "--resize-mask"],
    );
    assert!(ok, "{err}");

    // The ensemble: a network's option, of 1, 2, 4 or 8 transforms.
    for (extra, needle) in [
        (
            &["--method", "telea", "--ensemble", "2"][..],
            "--method pconv",
        ),
        (&["--ensemble", "3"][..], "1, 2, 4 or 8"),
    ] {
        let (ok, err) = inpaint(&img, &mask, &out, extra);
        assert!(!ok, "{extra:?} accepted");
        assert!(
            err.trim().lines().count() == 1 && err.contains(needle),
            "{extra:?}: {err}"
        );
    }

    // Precision: a value that is none is refused; `mixed` is what `info`
    // then reports in use (the twin on an adapter without tensor cores).
    let (ok, err) = pconv(&["--precision", "f16", "info"]);
    assert!(!ok && err.contains("f32 or mixed"), "{err}");
    let info = Command::new(env!("CARGO_BIN_EXE_pconv"))
        .args(["--precision", "mixed", "info"])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    if text.contains("shader-f16)       yes") {
        assert!(
            text.contains("in use                            mixed"),
            "{text}"
        );
    }

    // Checkpoints: one lacking a tensor, and a truncated file.
    let ck = Checkpoint::initial(
        UNetConfig {
            levels: 2,
            width: 0.0625,
        },
        1,
    )
    .unwrap();
    let full = d.join("model.safetensors");
    ck.write(&full).unwrap();
    let mut file = SafeTensors::read(&full).unwrap();
    file.tensors.remove("dec2.bn.running_var");
    let lacking = d.join("lacking.safetensors");
    file.write_atomic(&lacking).unwrap();
    let truncated = d.join("truncated.safetensors");
    let bytes = std::fs::read(&full).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    for (what, path, needle) in [
        ("lacking", &lacking, "dec2.bn.running_var"),
        ("truncated", &truncated, "truncated.safetensors"),
        ("missing", &d.join("none.safetensors"), "none.safetensors"),
    ] {
        let (ok, err) = inpaint(&img, &mask, &out, &["--checkpoint", s(path)]);
        assert!(!ok, "{what} checkpoint accepted");
        assert!(
            err.trim().lines().count() == 1 && err.contains(needle),
            "{what}: {err}"
        );
    }
}

#[test]
fn folders_pair_by_name_and_one_bad_pair_does_not_stop_the_rest() {
    let d = dir("batch");
    let (images, masks, out) = (d.join("images"), d.join("masks"), d.join("out"));
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&masks).unwrap();
    for name in ["one", "two", "three"] {
        let (img, mask) = write_pair(&d, name, 16, 10, 16);
        std::fs::rename(&img, images.join(format!("{name}.png"))).unwrap();
        if name != "three" {
            std::fs::rename(&mask, masks.join(format!("{name}.png"))).unwrap();
        }
    }
    std::fs::write(images.join("two.png"), b"broken").unwrap();
    let (ok, err) = inpaint(&images, &masks, &out, &["--method", "telea"]);
    assert!(!ok);
    assert!(err.contains("two.png") && err.contains("three"), "{err}");
    assert!(out.join("one.png").exists());
    assert!(!out.join("two.png").exists() && !out.join("three.png").exists());
    // One mask file for every image (a fixed watermark).
    let one_mask = d.join("one-mask.png");
    write_pair(&d, "one", 16, 10, 16);
    std::fs::remove_file(images.join("two.png")).unwrap();
    let (ok, err) = inpaint(&images, &one_mask, &out, &["--method", "telea"]);
    assert!(ok, "{err}");
    assert!(out.join("three.png").exists());
}

#[test]
fn masks_and_eval_commands() {
    let d = dir("eval");
    let masks = d.join("masks");
    let (ok, err) = pconv(&[
        "masks",
        "--count",
        "4",
        "--size",
        "24x16",
        "--output",
        s(&masks),
        "--seed",
        "2",
    ]);
    assert!(ok, "{err}");
    for i in 0..4 {
        let m = HoleMap::read(&masks.join(format!("{i:05}.png"))).unwrap();
        assert_eq!((m.width, m.height), (24, 16));
        assert!(m.ratio() <= 0.6 + 1e-9);
    }
    let (ok, err) = pconv(&[
        "masks",
        "--count",
        "1",
        "--size",
        "0",
        "--output",
        s(&masks),
    ]);
    assert!(!ok && err.contains("size"), "{err}");
    // A second run into the same folder overwrites nothing.
    let before = std::fs::read(masks.join("00003.png")).unwrap();
    let (ok, err) = pconv(&[
        "masks",
        "--count",
        "6",
        "--size",
        "8",
        "--output",
        s(&masks),
        "--seed",
        "3",
    ]);
    assert!(
        !ok && err.contains("00000.png already exists (4 of the 6"),
        "{err}"
    );
    assert_eq!(std::fs::read(masks.join("00003.png")).unwrap(), before);
    assert!(!masks.join("00004.png").exists());
    let images = d.join("images");
    std::fs::create_dir_all(&images).unwrap();
    for name in ["a", "b"] {
        let (img, _) = write_pair(&d, name, 40, 30, 40);
        std::fs::rename(&img, images.join(format!("{name}.png"))).unwrap();
    }
    let json = d.join("eval.json");
    let (table, v) = eval(
        &[
            "--method",
            "telea",
            "--images",
            s(&images),
            "--masks",
            s(&masks),
            "--size",
            "32",
        ],
        &json,
    );
    assert!(table.contains("PSNR") && table.contains("all"), "{table}");
    assert_eq!(v["images"].as_array().unwrap().len(), 2);
    assert_eq!(v["bins"].as_array().unwrap().len(), 7);
    assert!(v["images"][0]["losses"].is_null(), "--no-losses");
    // The loss terms on request: per image in the JSON, means printed.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pconv"))
        .args(["eval", "--method", "telea", "--losses", "--size", "32"])
        .args([
            "--images",
            s(&images),
            "--masks",
            s(&masks),
            "--json",
            s(&json),
        ])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("loss terms, mean of 2 images: valid"),
        "{stdout}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(
        v["images"][0]["losses"]["total"].as_f64().unwrap() > 0.0,
        "{v}"
    );
}

#[test]
fn export_drops_the_adam_state_and_keeps_weights_and_metadata() {
    let d = dir("export");
    let config = UNetConfig {
        levels: 4,
        width: 0.125,
    };
    let mut ck = Checkpoint::initial(config, 3).unwrap();
    ck.step = 42;
    ck.extra.insert("train.seed".into(), "3".into());
    let moments = ck
        .tensors
        .iter()
        .filter(|(n, _)| !n.contains("running_"))
        .map(|(n, t)| {
            let v = pconv::io::safetensors::Tensor {
                shape: t.shape.clone(),
                data: t.data.iter().map(|x| x * x).collect(),
            };
            (n.clone(), (t.clone(), v))
        })
        .collect();
    ck.adam = Some(pconv::model::AdamState { moments, step: 42 });
    let full = d.join("full.safetensors");
    // Without a moving average, export ships the weights themselves.
    ck.write(&full).unwrap();
    let plain = d.join("plain.safetensors");
    let (ok, err) = pconv(&["export", "--checkpoint", s(&full), "--out", s(&plain)]);
    assert!(ok, "{err}");
    assert_eq!(Checkpoint::read(&plain).unwrap().tensors, ck.tensors);
    // With one (`--ema`), the average is the model.
    let averaged: std::collections::BTreeMap<_, _> = ck
        .tensors
        .iter()
        .map(|(n, t)| {
            let mut t = t.clone();
            t.data.iter_mut().for_each(|x| *x = x.abs() * 0.5);
            (n.clone(), t)
        })
        .collect();
    ck.ema = Some(averaged.clone());
    ck.write(&full).unwrap();
    let slim = d.join("slim.safetensors");
    let (ok, err) = pconv(&["export", "--checkpoint", s(&full), "--out", s(&slim)]);
    assert!(ok, "{err}");
    let back = Checkpoint::read(&slim).unwrap();
    assert!(back.adam.is_none() && back.ema.is_none());
    assert_eq!(back.tensors, averaged);
    assert_eq!(Checkpoint::read(&full).unwrap().ema, Some(averaged.clone()));
    assert_eq!(back.step, 42);
    assert_eq!(back.extra.get("train.seed").map(String::as_str), Some("3"));
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(size(&slim) * 2 < size(&full));
    // Overwriting the input, or a missing input, is a one-line error.
    let (ok, err) = pconv(&["export", "--checkpoint", s(&full), "--out", s(&full)]);
    assert!(!ok && err.contains("must differ"), "{err}");
    let missing = d.join("missing.safetensors");
    let (ok, err) = pconv(&["export", "--checkpoint", s(&missing), "--out", s(&slim)]);
    assert!(!ok && err.starts_with("error:"), "{err}");

    // --recalibrate: the moving average's weights with new BatchNorm
    // statistics (tests/trainer.rs checks their values), at the run's size.
    let images = d.join("images");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..3u8 {
        image::RgbImage::from_fn(20, 17, |x, y| {
            image::Rgb([x as u8 * 12, y as u8 * 9 + i, 40 * i])
        })
        .save(images.join(format!("{i}.png")))
        .unwrap();
    }
    let recal = d.join("recal.safetensors");
    let args = [
        "export",
        "--checkpoint",
        s(&full),
        "--out",
        s(&recal),
        "--recalibrate",
        s(&images),
        "--images",
        "4",
        "--batch",
        "2",
    ];
    let (ok, err) = pconv(&args);
    assert!(!ok && err.contains("--size"), "no training size: {err}");
    let (ok, err) = pconv(&[&args[..], &["--size", "16"]].concat());
    assert!(ok, "{err}");
    let back = Checkpoint::read(&recal).unwrap();
    for (name, t) in &back.tensors {
        assert_eq!(
            t.data == averaged[name].data,
            !name.contains("running"),
            "{name}"
        );
    }
    assert_eq!(back.extra["bn.recalibrated_images"], "4");
    // Every image excluded, or a flag that needs --recalibrate without it.
    let list = d.join("exclude.txt");
    std::fs::write(&list, "0.png\n1.png\n2.png\n").unwrap();
    let (ok, err) = pconv(&[&args[..], &["--size", "16", "--exclude", s(&list)]].concat());
    assert!(!ok && err.contains("every image is excluded"), "{err}");
    // Masks kept inside the image folder are no images (here none is
    // left), and the image folder itself is no mask folder.
    let only_masks = d.join("only-masks");
    let inner = only_masks.join("masks");
    std::fs::create_dir_all(&inner).unwrap();
    image::GrayImage::from_fn(16, 16, |x, _| image::Luma([if x < 5 { 255 } else { 0 }]))
        .save(inner.join("m.png"))
        .unwrap();
    let common = [
        "export",
        "--checkpoint",
        s(&full),
        "--out",
        s(&recal),
        "--size",
        "16",
    ];
    let (ok, err) = pconv(
        &[
            &common[..],
            &["--recalibrate", s(&only_masks), "--masks", s(&inner)],
        ]
        .concat(),
    );
    assert!(!ok && err.contains("no images left"), "{err}");
    let (ok, err) = pconv(
        &[
            &common[..],
            &["--recalibrate", s(&inner), "--masks", s(&inner)],
        ]
        .concat(),
    );
    assert!(!ok && err.contains("folder of their own"), "{err}");
    let (ok, err) = pconv(
        &[
            &common[..],
            &["--recalibrate", s(&images), "--masks", s(&inner)],
        ]
        .concat(),
    );
    assert!(ok, "{err}");
    let (ok, err) = pconv(&[
        "export",
        "--checkpoint",
        s(&full),
        "--out",
        s(&recal),
        "--images",
        "4",
    ]);
    assert!(!ok && err.contains("--recalibrate"), "{err}");
}

#[test]
fn the_bundled_face_model_is_the_default_and_keeps_known_pixels() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models/faces128.safetensors");
    let ck = Checkpoint::read(&model).unwrap();
    assert_eq!((ck.config.levels, ck.config.width), (6, 0.5));
    assert!(ck.adam.is_none(), "shipped without the optimiser state");
    assert!(std::fs::metadata(&model).unwrap().len() <= 25_000_000);
    if common::gpu().is_none() {
        return;
    }
    let d = dir("bundled");
    let (img, mask) = write_pair(&d, "face", 70, 50, 70);
    let out = d.join("out.png");
    let (ok, err) = inpaint(&img, &mask, &out, &[]);
    assert!(ok, "{err}");
    assert!(holes_changed_known_kept(&img, &out, &mask) > 0);
    // The network alone (no blend with biharmonic at the holes'
    // edges): the default averages the image and its mirror image, as
    // `--ensemble 2` does; one pass fills differently.
    let (net2, single) = (d.join("net2.png"), d.join("single.png"));
    let (ok, err) = inpaint(&img, &mask, &net2, &["--edge-blend", "0"]);
    assert!(ok, "{err}");
    assert_ne!(
        image::open(&out).unwrap().to_rgb8(),
        image::open(&net2).unwrap().to_rgb8()
    );
    let named = d.join("named.png");
    let (ok, err) = inpaint(
        &img,
        &mask,
        &named,
        &["--edge-blend", "0", "--ensemble", "2"],
    );
    assert!(ok, "{err}");
    assert_eq!(
        image::open(&named).unwrap().to_rgb8(),
        image::open(&net2).unwrap().to_rgb8()
    );
    let out = net2;
    let (ok, err) = inpaint(
        &img,
        &mask,
        &single,
        &["--ensemble", "1", "--thin-holes", "0"],
    );
    assert!(ok, "{err}");
    assert!(holes_changed_known_kept(&img, &single, &mask) > 0);
    assert_ne!(
        image::open(&out).unwrap().to_rgb8(),
        image::open(&single).unwrap().to_rgb8()
    );
    let json = d.join("eval.json");
    let (table, v) = eval(&["--images", s(&img), "--masks", s(&mask)], &json);
    // The face model was trained on 128² faces: it works at most at 128 px.
    let label = "pconv, ensemble of 2, blended with biharmonic and FSR (30 %) over 16 px from the edges, the network at most 128 px a side";
    assert!(table.contains(&format!("method: {label}")), "{table}");
    assert_eq!(v["method"], label);
    // The network alone (--edge-blend 0, also under its former name
    // --thin-holes) at the image's own size; a classical method has no
    // network.
    let (table, _) = eval(
        &[
            "--images",
            s(&img),
            "--masks",
            s(&mask),
            "--thin-holes",
            "0",
            "--ensemble",
            "1",
            "--net-side",
            "0",
        ],
        &json,
    );
    assert!(table.contains("method: pconv\n"), "{table}");
    // The photos' band takes its own default depth.
    let (table, _) = eval(
        &[
            "--images",
            s(&img),
            "--masks",
            s(&mask),
            "--edge-band",
            "photos",
        ],
        &json,
    );
    assert!(
        table.contains("method: pconv, ensemble of 2, blended with biharmonic and FSR (85 %) over 32 px from the edges"),
        "{table}"
    );
    for (flag, value) in [
        ("--edge-blend", "4"),
        ("--net-side", "4"),
        ("--edge-band", "fsr"),
    ] {
        let (ok, err) = inpaint(&img, &mask, &single, &["--method", "ns", flag, value]);
        let refusal = format!("{flag} applies to --method pconv only");
        assert!(!ok && err.contains(&refusal), "{err}");
    }
}

#[test]
fn the_app_reports_a_bad_image_or_mask_before_opening_a_window() {
    let d = dir("app-bad");
    let corrupt = d.join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let (ok, err) = pconv(&["app", s(&corrupt), "--method", "telea"]);
    assert!(
        !ok && err.starts_with("error:") && err.contains("corrupt.png"),
        "{err}"
    );
    let (img, _) = write_pair(&d, "a", 20, 12, 20);
    let (ok, err) = pconv(&["app", s(&img), "--mask", s(&d.join("missing.png"))]);
    assert!(!ok && err.contains("missing.png"), "{err}");
    // Good input without any display: what to do instead of an X11 error.
    let out = Command::new(env!("CARGO_BIN_EXE_pconv"))
        .args(["app", s(&img), "--method", "telea"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("needs a display") && err.contains("pconv inpaint"),
        "{err}"
    );
}

#[test]
fn a_folder_never_goes_to_a_file_name_and_spellings_are_aliases() {
    let d = dir("spelling");
    let images = d.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let (img, mask) = write_pair(&d, "a", 16, 10, 16);
    std::fs::copy(&img, images.join("a.png")).unwrap();
    // A folder of images into "out.png" would silently make a folder of
    // that name: refused.
    let (ok, err) = inpaint(&images, &mask, &d.join("out.png"), &["--method", "telea"]);
    assert!(!ok && err.contains("must name a folder"), "{err}");
    assert!(!d.join("out.png").exists());
    // --images/--masks/--out for inpaint, --image/--mask for eval.
    let out = d.join("results");
    let (ok, err) = pconv(&[
        "inpaint",
        "--images",
        s(&images),
        "--masks",
        s(&mask),
        "--out",
        s(&out),
        "--method",
        "telea",
    ]);
    assert!(ok, "{err}");
    assert!(out.join("a.png").exists());
    let (ok, err) = pconv(&[
        "eval",
        "--image",
        s(&img),
        "--mask",
        s(&mask),
        "--method",
        "telea",
        "--no-losses",
    ]);
    assert!(ok, "{err}");
}

#[test]
fn jpeg_quality_bounds_what_happens_to_known_pixels() {
    let d = dir("quality");
    let img = d.join("photo.png");
    image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 3 + y) as u8, (y * 4) as u8, (100 + x / 2) as u8])
    })
    .save(&img)
    .unwrap();
    let (_, mask) = write_pair(&d, "m", 64, 48, 64);
    let error = |quality: &str| {
        let out = d.join(format!("q{quality}.jpg"));
        let (ok, err) = inpaint(
            &img,
            &mask,
            &out,
            &["--method", "telea", "--quality", quality],
        );
        assert!(ok, "{err}");
        let (a, b) = (
            image::open(&img).unwrap().to_rgb8(),
            image::open(&out).unwrap().to_rgb8(),
        );
        let holes = HoleMap::read(&mask).unwrap();
        let (mut sum, mut n) = (0i64, 0i64);
        for (i, (p, q)) in a.pixels().zip(b.pixels()).enumerate() {
            if !holes.holes[i] {
                for c in 0..3 {
                    sum += (p[c] as i64 - q[c] as i64).abs();
                    n += 1;
                }
            }
        }
        sum as f64 / n as f64
    };
    // The default is 95: closer to the input than the encoder's 75.
    let (q95, q75) = (error("95"), error("75"));
    assert!(q95 < q75, "quality 95: {q95}, 75: {q75}");
    let (ok, err) = inpaint(&img, &mask, &d.join("x.jpg"), &["--quality", "0"]);
    assert!(!ok && err.contains("1 to 100"), "{err}");
}

#[test]
fn outpainting_grows_the_canvas_and_keeps_the_photo() {
    let d = dir("extend");
    let (img, mask) = write_pair(&d, "a", 20, 12, 20);
    let input = image::open(&img).unwrap().to_rgb8();
    for (extra, (w, h), (left, top)) in [
        (&["--extend", "3,2,4,1"][..], (27, 15), (3, 2)),
        (&["--extend-to", "30x20"][..], (30, 20), (5, 4)),
        (&["--extend", "2", "--mask", s(&mask)][..], (24, 16), (2, 2)),
    ] {
        let out = d.join("out.png");
        let mut args = vec![
            "inpaint",
            "--image",
            s(&img),
            "--output",
            s(&out),
            "--method",
            "ns",
        ];
        args.extend_from_slice(extra);
        let (ok, err) = pconv(&args);
        assert!(ok, "{extra:?}: {err}");
        let got = image::open(&out).unwrap().to_rgb8();
        assert_eq!((got.width(), got.height()), (w, h), "{extra:?}");
        let holes = HoleMap::read(&mask).unwrap();
        let masked = extra.contains(&"--mask");
        for (x, y, p) in input.enumerate_pixels() {
            if !(masked && holes.holes[(y * 20 + x) as usize]) {
                assert_eq!(got.get_pixel(x + left, y + top), p, "{extra:?} ({x}, {y})");
            }
        }
    }
    for (extra, needle) in [
        (&["--extend-to", "10x10"][..], "smaller than the image"),
        (&["--extend", "1,2,3"][..], "LEFT,TOP,RIGHT,BOTTOM"),
        (&[][..], "--mask"),
    ] {
        let mut args = vec![
            "inpaint",
            "--image",
            s(&img),
            "--output",
            "x.png",
            "--method",
            "ns",
        ];
        args.extend_from_slice(extra);
        let (ok, err) = pconv(&args);
        assert!(!ok && err.contains(needle), "{extra:?}: {err}");
    }
}

#[test]
fn transparency_is_kept_and_can_mark_the_holes() {
    let d = dir("alpha");
    // A photo with a transparent left quarter.
    let photo = d.join("photo.png");
    image::RgbaImage::from_fn(24, 16, |x, y| {
        image::Rgba([
            (x * 9) as u8,
            (y * 13) as u8,
            90,
            if x < 6 { 0 } else { 255 },
        ])
    })
    .save(&photo)
    .unwrap();
    // A selection as image editors export it: one colour, the holes
    // transparent (here the square 10..14 x 5..9).
    let selection = d.join("selection.png");
    image::RgbaImage::from_fn(24, 16, |x, y| {
        let hole = (10..14).contains(&x) && (5..9).contains(&y);
        image::Rgba([0, 0, 0, if hole { 0 } else { 255 }])
    })
    .save(&selection)
    .unwrap();
    for extra in [&[][..], &["--mask-alpha"][..]] {
        let out = d.join("out.png");
        let mut args = vec![
            "inpaint",
            "--image",
            s(&photo),
            "--mask",
            s(&selection),
            "--output",
            s(&out),
            "--method",
            "ns",
        ];
        args.extend_from_slice(extra);
        let (ok, err) = pconv(&args);
        assert!(ok, "{err}");
        assert_eq!(
            err.contains("transparent pixels are the holes"),
            extra.is_empty(),
            "{err}"
        );
        let got = image::open(&out).unwrap();
        assert!(got.color().has_alpha(), "the photo's transparency is kept");
        let (got, input) = (got.to_rgba8(), image::open(&photo).unwrap().to_rgba8());
        for (x, y, p) in got.enumerate_pixels() {
            let hole = (10..14).contains(&x) && (5..9).contains(&y);
            if hole {
                assert_eq!(p[3], 255, "a filled hole is opaque");
            } else {
                assert_eq!(p, input.get_pixel(x, y), "({x}, {y})");
            }
        }
    }
    // --mask-alpha with a mask that has no transparency: a clear error.
    let (_, grey) = write_pair(&d, "g", 24, 16, 24);
    let (ok, err) = inpaint(
        &photo,
        &grey,
        &d.join("x.png"),
        &["--mask-alpha", "--method", "ns"],
    );
    assert!(!ok && err.contains("no transparency"), "{err}");
}

/// 16-bit and grey photos come back in their own format: every known
/// value as stored, the holes filled at 16-bit precision, the canvas of
/// `--extend` too; a format that cannot hold them says what it drops.
#[test]
fn sixteen_bit_and_grey_photos_keep_their_format() {
    let d = dir("deep");
    let (eight, mask) = write_pair(&d, "p", 24, 16, 24);
    let eight = image::open(&eight).unwrap().to_rgb8();
    // The 8-bit photo's values and a fraction of a level more.
    let deep =
        image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(24, 16, |x, y| {
            let p = eight.get_pixel(x, y);
            image::Rgb([0u32, 1, 2].map(|c| {
                (p[c as usize] as u32 * 257 + (x * 7 + y * 3 + c) % 200).min(65535) as u16
            }))
        });
    let photo = d.join("deep.png");
    deep.save(&photo).unwrap();
    let m = HoleMap::read(&mask).unwrap();
    let run = |input: &Path, out: &str, extra: &[&str]| {
        let out = d.join(out);
        let (ok, err) = inpaint(
            input,
            &mask,
            &out,
            &[&["--method", "biharmonic"], extra].concat(),
        );
        assert!(ok, "{err}");
        (image::open(&out).unwrap(), err)
    };
    let (got, _) = run(&photo, "deep-out.png", &[]);
    let got = got.as_rgb16().expect("16-bit RGB").clone();
    let (from_eight, _) = run(&d.join("p.png"), "eight-out.png", &[]);
    let from_eight = from_eight.to_rgb8();
    let mut between_levels = 0;
    for (x, y, p) in got.enumerate_pixels() {
        if m.holes[(y * 24 + x) as usize] {
            for c in 0..3 {
                between_levels += usize::from(p[c] % 257 != 0);
                // The inputs differ by less than a level: so do the fills.
                let level = p[c] as f64 / 257.0;
                let diff = (level - from_eight.get_pixel(x, y)[c] as f64).abs();
                assert!(diff <= 1.0, "({x}, {y}) channel {c}: {diff} levels");
            }
        } else {
            assert_eq!(p, deep.get_pixel(x, y), "known pixel ({x}, {y})");
        }
    }
    assert!(
        between_levels > 20,
        "{between_levels} hole values at 16-bit precision"
    );
    // Outpainting keeps the depth and every stored value.
    let (grown, _) = run(&photo, "grown.png", &["--extend", "2"]);
    let grown = grown.as_rgb16().expect("16-bit RGB");
    assert_eq!(grown.dimensions(), (28, 20));
    for (x, y, p) in deep.enumerate_pixels() {
        if !m.holes[(y * 24 + x) as usize] {
            assert_eq!(grown.get_pixel(x + 2, y + 2), p, "known pixel ({x}, {y})");
        }
    }
    // JPEG holds 8 bits: written, and said.
    let (jpeg, err) = run(&photo, "deep.jpg", &[]);
    assert_eq!(jpeg.color(), image::ColorType::Rgb8);
    assert!(err.contains("16 bits a channel become 8"), "{err}");
    // A grey photo stays grey, its known values as they were.
    let grey = d.join("grey.png");
    image::DynamicImage::ImageRgb8(eight.clone())
        .to_luma8()
        .save(&grey)
        .unwrap();
    let (got, err) = run(&grey, "grey-out.png", &[]);
    assert!(!err.contains("note"), "{err}");
    let (got, grey) = (
        got.as_luma8().expect("8-bit grey").clone(),
        image::open(&grey).unwrap().to_luma8(),
    );
    for (x, y, p) in got.enumerate_pixels() {
        if !m.holes[(y * 24 + x) as usize] {
            assert_eq!(p, grey.get_pixel(x, y), "known pixel ({x}, {y})");
        }
    }
}

/// A phone photo's colour profile and EXIF block, and a PNG's text, come
/// back with its result: the EXIF upright (the pixels were turned on
/// reading), without the original's thumbnail; formats that cannot hold
/// them say so.
#[test]
fn a_photos_metadata_is_kept() {
    use image::{ImageDecoder, ImageEncoder};
    let d = dir("metadata");
    let (upright, mask) = write_pair(&d, "p", 24, 16, 24);
    let upright = image::open(&upright).unwrap();
    // Stored as a camera held sideways stores it: orientation 6 turns
    // it a quarter clockwise to show it.
    let stored = upright.rotate270();
    let icc = common::photo_metadata::icc_profile(b"RGB ", b"pconv-test-profile");
    let thumb = b"THUMBNAIL-OF-THE-ORIGINAL";
    let photo = d.join("phone.jpg");
    let mut bytes = Vec::new();
    let mut e = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 100);
    e.set_icc_profile(icc.clone()).unwrap();
    e.set_exif_metadata(common::photo_metadata::camera_exif(false, 6, thumb))
        .unwrap();
    stored.write_with_encoder(e).unwrap();
    std::fs::write(&photo, &bytes).unwrap();
    let read = |p: &Path| {
        let mut dec = image::ImageReader::open(p)
            .unwrap()
            .with_guessed_format()
            .unwrap()
            .into_decoder()
            .unwrap();
        let (icc, exif) = (dec.icc_profile().unwrap(), dec.exif_metadata().unwrap());
        let orientation = dec.orientation().unwrap();
        let mut img = image::DynamicImage::from_decoder(dec).unwrap();
        img.apply_orientation(orientation);
        (img.to_rgb8(), icc, exif)
    };
    let (shown, _, _) = read(&photo);
    let holes = HoleMap::read(&mask).unwrap();
    let has = |b: &[u8], s: &[u8]| b.windows(s.len()).any(|w| w == s);
    for ext in ["png", "jpg", "webp"] {
        let out = d.join(format!("out.{ext}"));
        let (ok, err) = inpaint(&photo, &mask, &out, &["--method", "telea"]);
        assert!(ok && !err.contains("note"), "{ext}: {err}");
        let (got, got_icc, exif) = read(&out);
        assert_eq!(got.dimensions(), (24, 16), "{ext}: upright");
        assert_eq!(got_icc.as_ref(), Some(&icc), "{ext}: the profile");
        let exif = exif.unwrap_or_else(|| panic!("{ext}: no EXIF"));
        assert_eq!(
            image::metadata::Orientation::from_exif_chunk(&exif),
            Some(image::metadata::Orientation::NoTransforms),
            "{ext}"
        );
        assert!(
            has(&exif, b"pconv-test-camera") && !has(&exif, thumb),
            "{ext}"
        );
        if ext == "png" {
            for (x, y, p) in got.enumerate_pixels() {
                if !holes.holes[(y * 24 + x) as usize] {
                    assert_eq!(p, shown.get_pixel(x, y), "known pixel ({x}, {y})");
                }
            }
        }
    }
    // A mask drawn on the pixels as stored (16x24): the error says so.
    let stored_mask = d.join("stored-mask.png");
    image::open(&mask)
        .unwrap()
        .rotate270()
        .save(&stored_mask)
        .unwrap();
    let (ok, err) = inpaint(
        &photo,
        &stored_mask,
        &d.join("x.png"),
        &["--method", "telea"],
    );
    assert!(!ok && err.contains("turn the mask a quarter"), "{err}");
    let out = d.join("plain.png");
    let (ok, err) = inpaint(&photo, &mask, &out, &["--method", "telea", "--no-exif"]);
    assert!(ok, "{err}");
    let (_, got_icc, exif) = read(&out);
    assert_eq!((got_icc, exif), (Some(icc.clone()), None));
    // TIFF takes the profile only, BMP neither: each said.
    let (ok, err) = inpaint(&photo, &mask, &d.join("out.tif"), &["--method", "telea"]);
    assert!(
        ok && err.contains("not written: the EXIF metadata (written in PNG, JPEG and WebP only)"),
        "{err}"
    );
    let (ok, err) = inpaint(&photo, &mask, &d.join("out.bmp"), &["--method", "telea"]);
    assert!(
        ok && err
            .contains("not written: the colour profile (written in PNG, JPEG, WebP and TIFF only")
            && err.contains("; the EXIF metadata"),
        "{err}"
    );
    // A profile for another colour space (a CMYK photo's, converted to
    // RGB on reading) is not written with the RGB result.
    let cmyk = d.join("cmyk-profile.jpg");
    let mut bytes = Vec::new();
    let mut e = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90);
    e.set_icc_profile(common::photo_metadata::icc_profile(b"CMYK", b""))
        .unwrap();
    upright.write_with_encoder(e).unwrap();
    std::fs::write(&cmyk, &bytes).unwrap();
    let out = d.join("cmyk-out.png");
    let (ok, err) = inpaint(&cmyk, &mask, &out, &["--method", "telea"]);
    assert!(ok && err.contains("another colour space"), "{err}");
    assert_eq!(read(&out).1, None);
    // A PNG's text (a Stable Diffusion image's generation parameters)
    // comes back in a PNG result, and a JPEG result says it cannot hold it.
    let mut png = Vec::new();
    upright
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let parameters = common::photo_metadata::png_chunk(b"tEXt", b"parameters\0steps: 20");
    let generated = d.join("generated.png");
    std::fs::write(
        &generated,
        common::photo_metadata::with_chunks(&png, std::slice::from_ref(&parameters)),
    )
    .unwrap();
    let out = d.join("generated-out.png");
    let (ok, err) = inpaint(&generated, &mask, &out, &["--method", "telea"]);
    assert!(ok && !err.contains("note"), "{err}");
    assert!(has(&std::fs::read(&out).unwrap(), &parameters));
    assert_eq!(read(&out).0.dimensions(), (24, 16));
    let (ok, err) = inpaint(
        &generated,
        &mask,
        &d.join("generated.jpg"),
        &["--method", "telea"],
    );
    assert!(ok && err.contains("not written: the PNG text"), "{err}");
    // An EXIF block larger than a JPEG segment (a PNG's may be): left out
    // and said, the JPEG whole (the encoder would wrap the length).
    let big = d.join("big-exif.png");
    let mut bytes = Vec::new();
    let mut e = image::codecs::png::PngEncoder::new(&mut bytes);
    e.set_exif_metadata(common::photo_metadata::camera_exif(false, 1, &[7; 70_000]))
        .unwrap();
    upright.write_with_encoder(e).unwrap();
    std::fs::write(&big, &bytes).unwrap();
    let out = d.join("big-exif.jpg");
    let (ok, err) = inpaint(&big, &mask, &out, &["--method", "telea"]);
    assert!(
        ok && err.contains("the EXIF metadata (larger than a JPEG holds"),
        "{err}"
    );
    assert_eq!(read(&out).0.dimensions(), (24, 16));
}

/// A Display P3 photo is filled in sRGB (the models' space) and its
/// fill written back in P3: a hole in a plain red area comes back as the
/// same P3 red (in sRGB values it would be [255, 0, 0]), the known pixels
/// as stored.
#[test]
fn a_wide_gamut_photo_is_filled_in_srgb_and_kept_in_its_profile() {
    use common::photo_metadata::{assert_p3_fill, write_p3_photo};
    let d = dir("p3");
    let photo = d.join("p3.png");
    write_p3_photo(&photo);
    let mask = d.join("mask.png");
    image::GrayImage::from_fn(24, 16, |x, y| {
        image::Luma([if (2..8).contains(&x) && (4..12).contains(&y) {
            255
        } else {
            0
        }])
    })
    .save(&mask)
    .unwrap();
    let stored = image::open(&photo).unwrap().to_rgb8();
    let out = d.join("out.png");
    let (ok, err) = inpaint(&photo, &mask, &out, &["--method", "telea"]);
    assert!(ok, "{err}");
    let got = image::open(&out).unwrap().to_rgb8();
    assert_p3_fill(&got, &stored, |x, y| {
        (2..8).contains(&x) && (4..12).contains(&y)
    });
}

/// The network's output differs from the photo around the holes, so
/// feathering blends it in there (a classical fill equals the photo outside
/// its holes, where feathering changes nothing).
#[test]
fn feathering_touches_only_the_known_pixels_near_the_holes() {
    if common::gpu().is_none() {
        return;
    }
    let d = dir("feather");
    let (img, mask) = write_pair(&d, "a", 20, 12, 20);
    let out = d.join("out.png");
    let (ok, err) = inpaint(&img, &mask, &out, &["--ensemble", "1", "--feather", "2"]);
    assert!(ok, "{err}");
    let (a, b) = (
        image::open(&img).unwrap().to_rgb8(),
        image::open(&out).unwrap().to_rgb8(),
    );
    let near = HoleMap::read(&mask).unwrap().squared_distances(true);
    let mut blended = 0;
    for (i, (p, q)) in a.pixels().zip(b.pixels()).enumerate() {
        if near[i] > 4 {
            assert_eq!(p, q, "a known pixel {i} beyond 2 px changed");
        } else if near[i] > 0 {
            blended += usize::from(p != q);
        }
    }
    assert!(blended > 0, "no known pixel near the holes was blended");
}

/// Batch inpainting split over workers: 3 shards of a folder, run in any
/// order and one of them twice, give exactly the files of one unsharded
/// run, byte for byte; a lost output comes back with --skip-existing,
/// which leaves the others untouched. The scheduler's variables pick the
/// shard as the flags do.
#[test]
fn shards_of_a_folder_equal_one_run_and_skip_existing_finishes_it() {
    let d = dir("shards");
    let images = d.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let mut mask = PathBuf::new();
    for i in 0..7 {
        let (_, m) = write_pair(&images, &format!("p{i}"), 12 + i, 9, 12 + i);
        mask = d.join("mask.png");
        std::fs::rename(&m, &mask).unwrap();
    }
    // One mask for every image (each image 12..18 wide; resized), with
    // the environment variables `vars`.
    let run_in = |out: &Path, extra: &[&str], vars: &[(&str, &str)]| {
        let out = Command::new(env!("CARGO_BIN_EXE_pconv"))
            .args(["inpaint", "--image", s(&images), "--mask", s(&mask)])
            .args(["--resize-mask", "--method", "telea", "--output", s(out)])
            .args(extra)
            .envs(vars.iter().copied())
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!err.contains("panicked"), "{err}");
        (out.status.success(), err)
    };
    let run = |out: &Path, extra: &[&str]| run_in(out, extra, &[]);
    let (all, sharded) = (d.join("all"), d.join("sharded"));
    assert!(run(&all, &[]).0);
    for i in ["2", "0", "1", "1"] {
        let (ok, err) = run(&sharded, &["--shard-index", i, "--shard-count", "3"]);
        assert!(ok, "{err}");
        assert!(err.contains(&format!("shard {i} of 3")), "{err}");
    }
    let listing = |p: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(listing(&all).len(), 7);
    assert_eq!(listing(&all), listing(&sharded));
    for name in listing(&all) {
        assert_eq!(
            std::fs::read(all.join(&name)).unwrap(),
            std::fs::read(sharded.join(&name)).unwrap(),
            "{name:?}"
        );
    }
    // Shard 0 holds p0, p3, p6: lose p3, rerun with --skip-existing.
    std::fs::remove_file(sharded.join("p3.png")).unwrap();
    let before = std::fs::metadata(sharded.join("p0.png"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (ok, err) = run(
        &sharded,
        &[
            "--shard-index",
            "0",
            "--shard-count",
            "3",
            "--skip-existing",
        ],
    );
    assert!(ok && err.contains("2 already there"), "{err}");
    assert_eq!(
        std::fs::read(all.join("p3.png")).unwrap(),
        std::fs::read(sharded.join("p3.png")).unwrap()
    );
    let after = std::fs::metadata(sharded.join("p0.png"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "an existing output was rewritten");
    // A Slurm array task picks its shard from the environment.
    let slurm = d.join("slurm");
    let vars = [
        ("SLURM_ARRAY_TASK_ID", "2"),
        ("SLURM_ARRAY_TASK_COUNT", "3"),
    ];
    let (ok, err) = run_in(&slurm, &[], &vars);
    assert!(ok, "{err}");
    let names: Vec<String> = listing(&slurm)
        .iter()
        .map(|n| n.to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["p2.png", "p5.png"]);
    // A manifest instead of a folder (as GNU parallel or Spark pipe one).
    let list = d.join("list.txt");
    let line = |n: &str| images.join(n).display().to_string();
    std::fs::write(
        &list,
        format!("# two\n{}\n\n{}\n", line("p1.png"), line("p4.png")),
    )
    .unwrap();
    let listed = d.join("listed");
    let out = Command::new(env!("CARGO_BIN_EXE_pconv"))
        .args(["inpaint", "--files-from", s(&list), "--mask", s(&mask)])
        .args(["--resize-mask", "--method", "telea", "--output", s(&listed)])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(listing(&listed), ["p1.png", "p4.png"]);
    for name in ["p1.png", "p4.png"] {
        assert_eq!(
            std::fs::read(all.join(name)).unwrap(),
            std::fs::read(listed.join(name)).unwrap()
        );
    }
    // Two listed images of one name would write one output: refused.
    std::fs::write(
        &list,
        format!("{}\n{}\n", line("p1.png"), all.join("p1.png").display()),
    )
    .unwrap();
    let (ok, err) = pconv(&[
        "inpaint",
        "--files-from",
        s(&list),
        "--mask",
        s(&mask),
        "--output",
        s(&listed),
    ]);
    assert!(!ok && err.contains("would collide"), "{err}");
    // A shard index past the count is refused before any work.
    let (ok, err) = run(
        &d.join("bad"),
        &["--shard-index", "3", "--shard-count", "3"],
    );
    assert!(!ok && err.contains("not below"), "{err}");
}

/// Bundled models by name: `pconv models` lists them with what each is
/// for; `--model face` is the default model (the same output), `--model
/// general` and an unknown name are one-line errors that say why.
#[test]
fn models_by_name() {
    let listed = Command::new(env!("CARGO_BIN_EXE_pconv"))
        .arg("models")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success());
    assert!(
        text.contains("face (default)") && text.contains("general"),
        "{text}"
    );
    let d = dir("models");
    let (img, mask) = write_pair(&d, "a", 24, 16, 24);
    let fast = ["--ensemble", "1", "--edge-blend", "0"];
    let (by_name, by_default) = (d.join("by_name.png"), d.join("by_default.png"));
    let (ok, err) = inpaint(
        &img,
        &mask,
        &by_name,
        &[&["--model", "face"][..], &fast].concat(),
    );
    if !ok && err.contains("no GPU") {
        return;
    }
    assert!(ok, "{err}");
    let (ok, err) = inpaint(&img, &mask, &by_default, &fast);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read(&by_name).unwrap(),
        std::fs::read(&by_default).unwrap()
    );
    for (model, needle) in [
        ("general", "not trained yet"),
        ("nope", "not a bundled model"),
    ] {
        let (ok, err) = inpaint(&img, &mask, &d.join("x.png"), &["--model", model]);
        assert!(
            !ok && err.trim().lines().count() == 1 && err.contains(needle),
            "{model}: {err}"
        );
    }
}

/// The shell scripts in `tools/` parse (`bash -n`): the device scripts run
/// once per rare GPU window, where a syntax error halfway through (an
/// unquoted parenthesis, say) would silently skip everything after it.
#[test]
fn tool_scripts_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools");
    let mut scripts: Vec<PathBuf> = Vec::new();
    for d in [root.clone(), root.join("device")] {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "sh") {
                scripts.push(p);
            }
        }
    }
    assert!(scripts.len() >= 10, "{scripts:?}");
    for s in scripts {
        let out = Command::new("bash").arg("-n").arg(&s).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            s.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
