//! Checkpoints: spec names and shapes, metadata, Adam state, and clear
//! errors for incomplete or foreign files.
use std::collections::BTreeMap;
use std::path::PathBuf;

mod common;

use pconv::data::images::Crop;
use pconv::io::safetensors::{SafeTensors, Tensor};
use pconv::model::checkpoint::{expected_shapes, format_width, AdamState};
use pconv::model::{Checkpoint, UNetConfig};

fn temp(name: &str) -> (common::Scratch, PathBuf) {
    let dir = common::Scratch::new(&format!("ck-{name}"));
    let file = dir.join("model.safetensors");
    (dir, file)
}

fn random_checkpoint(config: UNetConfig, adam: bool) -> Checkpoint {
    let mut tensors = BTreeMap::new();
    let mut moments = BTreeMap::new();
    for (i, (name, shape)) in expected_shapes(config).unwrap().into_iter().enumerate() {
        let n: usize = shape.iter().product();
        let t = Tensor {
            shape: shape.clone(),
            data: (0..n)
                .map(|k| ((k * 31 + i) % 17) as f32 / 17.0 - 0.5)
                .collect(),
        };
        // Variances (BatchNorm's, Adam's second moments) are never negative.
        let variance = Tensor {
            shape: shape.clone(),
            data: t.data.iter().map(|v| v.abs()).collect(),
        };
        if adam && !name.contains("running_") {
            moments.insert(name.clone(), (t.clone(), variance.clone()));
        }
        let t = if name.ends_with("running_var") {
            variance
        } else {
            t
        };
        tensors.insert(name, t);
    }
    Checkpoint {
        config,
        step: 1234,
        tensors,
        adam: adam.then_some(AdamState {
            moments,
            step: 1234,
        }),
        ema: None,
        extra: [("train.seed".to_string(), "77".to_string())].into(),
    }
}

#[test]
fn names_and_shapes_follow_the_spec() {
    let shapes: BTreeMap<String, Vec<usize>> = expected_shapes(UNetConfig {
        levels: 7,
        width: 1.0,
    })
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(shapes["enc1.weight"], vec![64, 3, 7, 7]);
    assert_eq!(shapes["enc2.weight"], vec![128, 64, 5, 5]);
    assert_eq!(shapes["enc7.bn.running_var"], vec![512]);
    assert_eq!(shapes["dec7.weight"], vec![512, 1024, 3, 3]);
    assert_eq!(shapes["dec4.weight"], vec![256, 768, 3, 3]);
    assert_eq!(shapes["dec1.weight"], vec![3, 67, 3, 3]);
    assert_eq!(shapes["dec1.bias"], vec![3]);
    assert!(!shapes.contains_key("enc1.bn.weight") && !shapes.contains_key("dec1.bn.weight"));
    let quarter: BTreeMap<_, _> = expected_shapes(UNetConfig {
        levels: 5,
        width: 0.25,
    })
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(quarter["dec2.weight"], vec![16, 48, 3, 3]);
    assert_eq!(format_width(1.0), "1.0");
    assert_eq!(format_width(0.25), "0.25");
}

#[test]
fn round_trip_with_adam_state() {
    for adam in [false, true] {
        let mut ck = random_checkpoint(
            UNetConfig {
                levels: 4,
                width: 0.125,
            },
            adam,
        );
        // The moving average travels with the optimiser state.
        if adam {
            ck.ema = Some(ck.tensors.clone());
        }
        let (_dir, path) = temp(&format!("rt{adam}"));
        ck.write(&path).unwrap();
        let back = Checkpoint::read(&path).unwrap();
        assert_eq!(back, ck);
        let raw = SafeTensors::read(&path).unwrap();
        assert_eq!(raw.metadata["format"], "pconv-unet");
        assert_eq!(raw.metadata["levels"], "4");
        assert_eq!(raw.metadata["width"], "0.125");
        assert_eq!(raw.metadata["step"], "1234");
    }
}

#[test]
fn incomplete_or_foreign_files_are_refused_with_a_reason() {
    let ck = random_checkpoint(
        UNetConfig {
            levels: 3,
            width: 0.125,
        },
        false,
    );
    let (_dir, path) = temp("bad");
    ck.write(&path).unwrap();
    let mut raw = SafeTensors::read(&path).unwrap();
    raw.tensors.remove("dec2.bn.running_mean");
    raw.write_atomic(&path).unwrap();
    let err = Checkpoint::read(&path).unwrap_err().to_string();
    assert!(err.contains("missing tensor dec2.bn.running_mean"), "{err}");

    let mut raw = SafeTensors::read(&path).unwrap();
    raw.tensors.insert(
        "dec2.bn.running_mean".into(),
        Tensor {
            shape: vec![5],
            data: vec![0.0; 5],
        },
    );
    raw.write_atomic(&path).unwrap();
    let err = Checkpoint::read(&path).unwrap_err().to_string();
    assert!(err.contains("dec2.bn.running_mean has shape [5]"), "{err}");

    raw.metadata
        .insert("format".into(), "something-else".into());
    raw.write_atomic(&path).unwrap();
    let err = Checkpoint::read(&path).unwrap_err().to_string();
    assert!(err.contains("format"), "{err}");

    std::fs::write(&path, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":").unwrap();
    assert!(Checkpoint::read(&path).is_err());
}

/// A run's settings in a checkpoint's metadata: written and read back
/// typed; a value that does not parse is an error naming its key.
#[test]
fn run_metadata_round_trips_and_bad_values_are_named() {
    use pconv::train::run_config::RunMetadata;
    use pconv::train::schedule::LrSchedule;
    let run = RunMetadata {
        seed: Some(7),
        lr: Some(5e-5),
        lr_schedule: Some(LrSchedule::Cosine),
        steps: Some(6000),
        ema: Some(0.999),
        finetune: true,
        batch: Some(32),
        micro_batches: Some(4),
        size: Some(128),
        crop: Some(Crop::Scale { min: 1.0, max: 2.5 }),
        loss_scale: Some(32768.0),
        loss_scale_clean_steps: Some(17),
    };
    let mut extra = BTreeMap::new();
    run.write(&mut extra);
    assert_eq!(extra["train.lr"], "5e-5");
    assert_eq!(extra["train.crop_scale"], "1:2.5");
    assert_eq!(RunMetadata::read(&extra).unwrap(), run);
    // Each way of cropping reads back; a checkpoint with only the older
    // `train.resize` flag keeps meaning what it meant.
    for crop in [Crop::Full, Crop::Resize] {
        let mut e = BTreeMap::new();
        RunMetadata {
            crop: Some(crop),
            ..RunMetadata::default()
        }
        .write(&mut e);
        assert!(!e.contains_key("train.crop_scale"));
        assert_eq!(RunMetadata::read(&e).unwrap().crop, Some(crop));
    }
    let mut bad = extra.clone();
    bad.insert("train.crop_scale".into(), "2:1".into());
    let err = RunMetadata::read(&bad).unwrap_err().to_string();
    assert!(
        err.contains("train.crop_scale") && err.contains("2:1"),
        "{err}"
    );
    // An older checkpoint without the keys: nothing known.
    assert_eq!(
        RunMetadata::read(&BTreeMap::new()).unwrap(),
        RunMetadata::default()
    );
    // A loss scale outside what the scaler can hold.
    let mut odd = extra.clone();
    odd.insert("train.loss_scale".into(), "0.5".into());
    let err = RunMetadata::read(&odd).unwrap_err().to_string();
    assert!(err.contains("train.loss_scale"), "{err}");
    extra.insert("train.batch".into(), "many".into());
    let err = RunMetadata::read(&extra).unwrap_err().to_string();
    assert!(err.contains("train.batch") && err.contains("many"), "{err}");
}
