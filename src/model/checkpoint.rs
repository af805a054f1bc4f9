//! Checkpoints in the spec's safetensors layout: `enc{i}.weight`,
//! `enc{i}.bn.*`, `dec{i}.weight`, `dec1.bias`, `dec{i}.bn.*`, optional Adam
//! state `adam.m.<name>`, `adam.v.<name>`, `adam.step`, and metadata
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
            extra: BTreeMap::new(),
        })
    }

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
            Some(s) => s
                .parse()
                .map_err(|_| bad(path, "metadata 'step' is not an integer"))?,
            None => 0,
        };
        if !((1..=12).contains(&levels) && width > 0.0 && width <= 16.0) {
            return Err(bad(
                path,
                format!("unsupported levels {levels} / width {width}"),
            ));
        }
        let config = UNetConfig { levels, width };
        let mut tensors = BTreeMap::new();
        for (name, shape) in expected_shapes(config)? {
            tensors.insert(name.clone(), file.expect(path, &name, &shape)?.clone());
        }
        let adam = match file.tensors.get("adam.step") {
            None => None,
            Some(s) => {
                let t = s.data.first().copied().unwrap_or(0.0);
                let mut moments = BTreeMap::new();
                for (name, shape) in expected_shapes(config)? {
                    if name.contains("running_") {
                        continue;
                    }
                    let (mk, vk) = (format!("adam.m.{name}"), format!("adam.v.{name}"));
                    // Frozen tensors (fine-tuning) have no moments.
                    if !file.tensors.contains_key(&mk) {
                        continue;
                    }
                    let m = file.expect(path, &mk, &shape)?.clone();
                    let v = file.expect(path, &vk, &shape)?.clone();
                    moments.insert(name, (m, v));
                }
                Some(AdamState {
                    moments,
                    step: t as u64,
                })
            }
        };
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
