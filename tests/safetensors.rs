//! safetensors reading and writing: round trip, atomic writes, and clear
//! errors for truncated, corrupt or incomplete files; the bundled VGG-16.
mod common;

use std::path::{Path, PathBuf};

use pconv::io::safetensors::{SafeTensors, Tensor};
use pconv::loss::{Preprocess, VggConfig, VggWeights, DEFAULT_VGG_WEIGHTS};

fn sample() -> SafeTensors {
    let mut s = SafeTensors::default();
    s.metadata.insert("format".into(), "pconv-unet".into());
    s.metadata.insert("levels".into(), "3".into());
    s.tensors.insert(
        "enc1.weight".into(),
        Tensor {
            shape: vec![2, 3, 1, 1],
            data: (0..6).map(|i| i as f32 * 0.5 - 1.0).collect(),
        },
    );
    s.tensors.insert(
        "adam.step".into(),
        Tensor {
            shape: vec![],
            data: vec![7.0],
        },
    );
    s
}

fn temp(name: &str) -> (common::Scratch, PathBuf) {
    let dir = common::Scratch::new(&format!("st-{name}"));
    let file = dir.join("file.safetensors");
    (dir, file)
}

#[test]
fn round_trip_is_exact_and_header_aligned() {
    let s = sample();
    let bytes = s.to_bytes();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert_eq!(header_len % 8, 0);
    assert_eq!(SafeTensors::parse(Path::new("x"), &bytes).unwrap(), s);
    let (_dir, path) = temp("roundtrip");
    s.write_atomic(&path).unwrap();
    assert_eq!(SafeTensors::read(&path).unwrap(), s);
    // No temp file is left behind.
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(left.len(), 1);
}

#[test]
fn truncated_and_corrupt_files_are_errors() {
    let bytes = sample().to_bytes();
    for cut in [0, 5, 8, 20, bytes.len() - 3] {
        let err = SafeTensors::parse(Path::new("ck.safetensors"), &bytes[..cut])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ck.safetensors")
                && (err.contains("truncated")
                    || err.contains("corrupt")
                    || err.contains("not a safetensors")),
            "cut {cut}: {err}"
        );
    }
    let mut bad = bytes.clone();
    bad[12] = b'#';
    assert!(SafeTensors::parse(Path::new("x"), &bad).is_err());
    let f16 = br#"{"t":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#;
    let mut file = (f16.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(f16);
    file.extend_from_slice(&[0, 0]);
    let err = SafeTensors::parse(Path::new("x"), &file)
        .unwrap_err()
        .to_string();
    assert!(err.contains("tensor t has dtype F16"), "{err}");
}

#[test]
fn missing_or_misshaped_tensor_is_named() {
    let s = sample();
    let err = s
        .expect(Path::new("ck"), "dec1.bias", &[3])
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing tensor dec1.bias"), "{err}");
    let err = s
        .expect(Path::new("ck"), "enc1.weight", &[2, 3, 7, 7])
        .unwrap_err()
        .to_string();
    assert!(err.contains("enc1.weight has shape [2, 3, 1, 1]"), "{err}");
}

#[test]
fn bundled_vgg16_weights_load() {
    let w = VggWeights::read(Path::new(DEFAULT_VGG_WEIGHTS), VggConfig::VGG16).unwrap();
    assert_eq!(w.preprocess, Preprocess::Caffe);
    assert_eq!(w.convs.len(), 7);
    let params: usize = w
        .convs
        .iter()
        .map(|(a, b)| a.data.len() + b.data.len())
        .sum();
    assert_eq!(params, 1_735_488);
    assert!(w
        .convs
        .iter()
        .all(|(a, _)| a.data.iter().all(|v| v.is_finite())));
    // A narrower configuration does not fit these weights: a clear error.
    let err = VggWeights::read(
        Path::new(DEFAULT_VGG_WEIGHTS),
        VggConfig {
            channels: [4, 6, 8],
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("features.0.weight has shape"),
        "{err}"
    );
}
