//! Checkpoints in the spec's safetensors layout: `enc{i}.weight`,
//! `enc{i}.bn.*`, `dec{i}.weight`, `dec1.bias`, `dec{i}.bn.*`, optional Adam
//! state `adam.m.<name>`, `adam.v.<name>`, `adam.step`, an optional moving
//! average of every network tensor `ema.<name>`, and metadata
//! `format = "pconv-unet"`, `levels`, `width`, `step`.
use std::collections::BTreeMap;
use std::path::Path;

use super::{Mode, UNet, UNetConfig};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::io::safetensors::{SafeTensors, Tensor};

/// A network's weights (and optionally its Adam state) by checkpoint name.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub config: UNetConfig,
    pub step: u64,
    pub tensors: BTreeMap<String, Tensor>,
    pub adam: Option<AdamState>,
    /// The exponential moving average of every network tensor (training
    /// with `--ema`): the weights inference uses when present.
    pub ema: Option<BTreeMap<String, Tensor>>,
    /// Other `__metadata__` entries, kept as they are (the trainer stores
    /// its seed here so `--resume` continues the same random streams).
    pub extra: BTreeMap<String, String>,
}

/// Adam moments (m, v) by parameter name, and Adam's step count.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState {
    pub moments: BTreeMap<String, (Tensor, Tensor)>,
    pub step: u64,
}

/// Every tensor name of the network with its shape, in checkpoint order.
pub fn expected_shapes(config: UNetConfig) -> Result<Vec<(String, Vec<usize>)>> {
    let mut g = Graph::new();
    let net = UNet::declare(&mut g, config, Mode::Train)?;
    Ok(net
        .named_tensors()
        .into_iter()
        .map(|(n, t)| (n, g.shape(t).to_vec()))
        .collect())
}

/// The width as Python's repr(float) writes it ("1.0", "0.25").
pub fn format_width(width: f64) -> String {
    format!("{width:?}")
}

/// The largest step count a checkpoint may carry: far beyond any run, and
/// far from the integer limits that step arithmetic would overflow.
pub const MAX_STEP: u64 = 1_000_000_000_000;

/// Every value finite; BatchNorm variances and Adam's second moments not
/// negative (their square roots are taken).
fn check_values(path: &Path, name: &str, t: &Tensor) -> Result<()> {
    if let Some(v) = t.data.iter().find(|v| !v.is_finite()) {
        return Err(bad(
            path,
            format!("tensor {name} holds {v} (weights must be finite)"),
        ));
    }
    if name.ends_with("running_var") || name.starts_with("adam.v.") {
        if let Some(v) = t.data.iter().find(|&&v| v < 0.0) {
            return Err(bad(
                path,
                format!("tensor {name} holds {v}, a negative variance"),
            ));
        }
    }
    Ok(())
}

/// The moving average, if the file has one: `ema.<name>` for every network
/// tensor (all or none), each of its shape, finite.
fn read_ema(
    path: &Path,
    file: &SafeTensors,
    expected: &[(String, Vec<usize>)],
) -> Result<Option<BTreeMap<String, Tensor>>> {
    if !file.tensors.keys().any(|n| n.starts_with("ema.")) {
        return Ok(None);
    }
    let mut ema = BTreeMap::new();
    for (name, shape) in expected {
        let key = format!("ema.{name}");
        let t = file.expect(path, &key, shape)?;
        check_values(path, &key, t)?;
        ema.insert(name.clone(), t.clone());
    }
    if let Some(name) = file
        .tensors
        .keys()
        .find(|n| n.strip_prefix("ema.").is_some_and(|p| !ema.contains_key(p)))
    {
        return Err(bad(path, format!("unexpected tensor {name}")));
    }
    Ok(Some(ema))
}

/// Tensors the fine-tuning stage freezes (the encoder's BatchNorm
/// parameters), which therefore may have no Adam moments.
fn may_lack_moments(name: &str) -> bool {
    name.starts_with("enc") && (name.ends_with(".bn.weight") || name.ends_with(".bn.bias"))
}

/// The Adam state, if the file has one: `adam.step` a whole number, and
/// for every trained tensor both moments or (frozen tensors only) neither.
fn read_adam(
    path: &Path,
    file: &SafeTensors,
    expected: &[(String, Vec<usize>)],
) -> Result<Option<AdamState>> {
    let Some(s) = file.tensors.get("adam.step") else {
        if let Some(name) = file.tensors.keys().find(|n| n.starts_with("adam.")) {
            return Err(bad(path, format!("tensor {name} without adam.step")));
        }
        return Ok(None);
    };
    let t = match s.data.as_slice() {
        [t] if s.shape.iter().product::<usize>() == 1 => *t as f64,
        _ => {
            return Err(bad(
                path,
                format!("adam.step has shape {:?}, expected a scalar", s.shape),
            ))
        }
    };
    if !(t.is_finite() && t >= 0.0 && t.fract() == 0.0 && t <= MAX_STEP as f64) {
        return Err(bad(path, format!("adam.step is {t}, not a step count")));
    }
    let mut moments = BTreeMap::new();
    for (name, shape) in expected {
        if name.contains("running_") {
            continue;
        }
        let (mk, vk) = (format!("adam.m.{name}"), format!("adam.v.{name}"));
        match (
            file.tensors.contains_key(&mk),
            file.tensors.contains_key(&vk),
        ) {
            (false, false) if may_lack_moments(name) => continue,
            (false, false) => return Err(bad(path, format!("missing tensors {mk} and {vk}"))),
            _ => {}
        }
        let m = file.expect(path, &mk, shape)?;
        let v = file.expect(path, &vk, shape)?;
        check_values(path, &mk, m)?;
        check_values(path, &vk, v)?;
        moments.insert(name.clone(), (m.clone(), v.clone()));
    }
    if let Some(name) = file.tensors.keys().find(|n| {
        n.starts_with("adam.")
            && *n != "adam.step"
            && !n
                .strip_prefix("adam.m.")
                .or_else(|| n.strip_prefix("adam.v."))
                .is_some_and(|p| moments.contains_key(p))
    }) {
        return Err(bad(path, format!("unexpected tensor {name}")));
    }
    Ok(Some(AdamState {
        moments,
        step: t as u64,
    }))
}

fn bad(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{}: {what}", path.display()))
}

impl Checkpoint {
    /// A freshly initialised network (Kaiming weights from `seed`), step 0.
    pub fn initial(config: UNetConfig, seed: u64) -> Result<Self> {
        let mut g = Graph::new();
        let net = UNet::declare(&mut g, config, Mode::Train)?;
        let values: BTreeMap<_, _> = net.initial_values(&g, seed).into_iter().collect();
        let tensors = net
            .named_tensors()
            .into_iter()
            .map(|(name, t)| {
                let shape = g.shape(t).to_vec();
                (
                    name,
                    Tensor {
                        shape,
                        data: values[&t].clone(),
                    },
                )
            })
            .collect();
        Ok(Checkpoint {
            config,
            step: 0,
            tensors,
            adam: None,
            ema: None,
            extra: BTreeMap::new(),
        })
    }

    /// The checkpoint a model runs: the moving average's weights where
    /// there is one, without the optimiser state.
    pub fn for_inference(mut self) -> Self {
        if let Some(ema) = self.ema.take() {
            self.tensors = ema;
        }
        self.adam = None;
        self
    }

    /// Reads and validates a checkpoint: the metadata, then every tensor
    /// the metadata's network has (no more, no fewer, each of its shape,
    /// finite, BatchNorm variances not negative), and the Adam state if
    /// there is one. Any fault is an error naming the tensor or key.
    pub fn read(path: &Path) -> Result<Self> {
        let file = SafeTensors::read(path)?;
        let meta = |k: &str| {
            file.metadata
                .get(k)
                .ok_or_else(|| bad(path, format!("metadata '{k}' missing")))
        };
        if meta("format")? != "pconv-unet" {
            return Err(bad(
                path,
                format!(
                    "metadata 'format' is {:?}, expected \"pconv-unet\"",
                    meta("format")?
                ),
            ));
        }
        let levels: usize = meta("levels")?
            .parse()
            .map_err(|_| bad(path, "metadata 'levels' is not an integer"))?;
        let width: f64 = meta("width")?
            .parse()
            .map_err(|_| bad(path, "metadata 'width' is not a number"))?;
        let step: u64 = match file.metadata.get("step") {
            Some(s) => s.parse().ok().filter(|&s| s <= MAX_STEP).ok_or_else(|| {
                bad(
                    path,
                    format!("metadata 'step' {s:?} is not an integer from 0 to {MAX_STEP}"),
                )
            })?,
            None => 0,
        };
        let config = UNetConfig { levels, width };
        config.check().map_err(|e| bad(path, e))?;
        let expected = expected_shapes(config)?;
        if let Some(name) = file.tensors.keys().find(|n| {
            !n.starts_with("adam.")
                && !n.starts_with("ema.")
                && !expected.iter().any(|(e, _)| e == *n)
        }) {
            return Err(bad(
                path,
                format!(
                    "unexpected tensor {name}: the metadata says levels {levels}, width {}, which has no such tensor",
                    format_width(width)
                ),
            ));
        }
        let mut tensors = BTreeMap::new();
        for (name, shape) in &expected {
            let t = file.expect(path, name, shape)?;
            check_values(path, name, t)?;
            tensors.insert(name.clone(), t.clone());
        }
        let adam = read_adam(path, &file, &expected)?;
        let ema = read_ema(path, &file, &expected)?;
        let extra = file
            .metadata
            .iter()
            .filter(|(k, _)| !["format", "levels", "width", "step"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Checkpoint {
            config,
            step,
            tensors,
            adam,
            ema,
            extra,
        })
    }

    /// Writes atomically (temp file + rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut file = SafeTensors::default();
        file.metadata.extend(self.extra.clone());
        file.metadata.insert("format".into(), "pconv-unet".into());
        file.metadata
            .insert("levels".into(), self.config.levels.to_string());
        file.metadata
            .insert("width".into(), format_width(self.config.width));
        file.metadata.insert("step".into(), self.step.to_string());
        for (name, shape) in expected_shapes(self.config)? {
            let t = self
                .tensors
                .get(&name)
                .ok_or_else(|| bad(path, format!("missing tensor {name}")))?;
            if t.shape != shape || t.data.len() != shape.iter().product::<usize>() {
                return Err(bad(
                    path,
                    format!("tensor {name} has shape {:?}, expected {shape:?}", t.shape),
                ));
            }
            file.tensors.insert(name, t.clone());
        }
        if let Some(ema) = &self.ema {
            for (name, shape) in expected_shapes(self.config)? {
                let t = ema
                    .get(&name)
                    .filter(|t| t.shape == shape)
                    .ok_or_else(|| bad(path, format!("ema.{name} missing or mis-shaped")))?;
                file.tensors.insert(format!("ema.{name}"), t.clone());
            }
        }
        if let Some(AdamState { moments, step }) = &self.adam {
            for (name, (m, v)) in moments {
                file.tensors.insert(format!("adam.m.{name}"), m.clone());
                file.tensors.insert(format!("adam.v.{name}"), v.clone());
            }
            file.tensors.insert(
                "adam.step".into(),
                Tensor {
                    shape: vec![],
                    data: vec![*step as f32],
                },
            );
        }
        file.write_atomic(path)
    }
}
