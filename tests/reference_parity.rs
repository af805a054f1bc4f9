//! Parity with the independent PyTorch implementation of the spec
//! (float64): composites within one 8-bit level, loss terms within 1e-4
//! relative. Cases in tests/fixtures/reference (see its README): padding
//! (50x70), no holes, all holes, and the bundled VGG for the losses.
mod common;

use std::path::PathBuf;

use common::gpu;
use pconv::infer::eval_losses::LossEvaluator;
use pconv::infer::PConvModel;
use pconv::loss::VggWeights;
use pconv::model::Checkpoint;
use pconv::raster::planes::{composite, Planes};
use pconv::raster::HoleMap;

fn cases() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference");
    let mut v: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

#[test]
fn composites_and_losses_match_the_pytorch_reference() {
    let Some(ctx) = gpu() else { return };
    let cases = cases();
    assert_eq!(cases.len(), 4);
    let mut evaluator = LossEvaluator::new(&ctx, VggWeights::bundled().unwrap());
    for dir in cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let ck = Checkpoint::read(&dir.join("model.safetensors")).unwrap();
        let img = image::open(dir.join("image.png")).unwrap().to_rgb8();
        let holes = HoleMap::read(&dir.join("mask.png")).unwrap();
        let want = image::open(dir.join("expected.png")).unwrap().to_rgb8();
        let planes = Planes::from_rgb(&img);
        let mut model = PConvModel::new(&ctx, ck);
        let pred = model.predict(&planes, &holes).unwrap();
        let got = composite(&img, &pred, &holes);
        let mut worst = 0;
        let mut differing = 0;
        for (a, b) in got.pixels().zip(want.pixels()) {
            let d = (0..3)
                .map(|c| (a[c] as i32 - b[c] as i32).abs())
                .max()
                .unwrap();
            worst = worst.max(d);
            differing += (d > 0) as usize;
        }
        assert!(worst <= 1, "{name}: composite off by {worst} levels");
        assert!(
            differing * 100 <= got.pixels().len(),
            "{name}: {differing} pixels differ"
        );
        if name.ends_with("_realvgg") {
            let expected: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("losses.json")).unwrap())
                    .unwrap();
            let ours = evaluator.losses(&pred, &planes, &holes).unwrap();
            for (term, v) in ours.named() {
                let e = expected[term].as_f64().unwrap();
                let rel = (v - e).abs() / e.abs().max(1e-12);
                assert!(rel < 1e-4, "{name} {term}: {v} vs {e} (relative {rel:.2e})");
            }
        }
    }
}
