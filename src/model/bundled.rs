//! The models pconv ships, by name (`--model face`), and how a `--model`
//! value becomes a checkpoint file: a bundled model's name or a path.
use std::path::PathBuf;

use crate::error::{Error, Result};

/// A model that comes with pconv, under `assets/`.
#[derive(Clone, Copy, Debug)]
pub struct BundledModel {
    /// What `--model` calls it.
    pub name: &'static str,
    /// Below `assets/`; None: not shipped yet.
    pub file: Option<&'static str>,
    /// What it is for, in a line.
    pub what: &'static str,
}

/// Every model name `--model` knows, the default first.
pub const BUNDLED: &[BundledModel] = &[
    BundledModel {
        name: "face",
        file: Some("models/faces128.safetensors"),
        what: "faces: trained by pconv on 22k UTKFace faces at 128x128 (research use); \
               details in assets/models/README.md",
    },
    BundledModel {
        name: "general",
        file: None,
        what: "everyday photos: not trained yet",
    },
];

/// The default model: `face`.
pub fn default_model() -> &'static BundledModel {
    &BUNDLED[0]
}

impl BundledModel {
    /// The checkpoint file, where this install has it.
    pub fn path(&self) -> Option<PathBuf> {
        self.file.and_then(crate::io::assets::find)
    }
}

/// The checkpoint a `--model` value names: a bundled model's name, else a
/// file path. A known name that this install lacks is an error that says
/// so, and so is a path that is not a file.
pub fn resolve(spec: &str) -> Result<PathBuf> {
    if let Some(m) = BUNDLED.iter().find(|m| m.name == spec) {
        return match (m.file, m.path()) {
            (_, Some(p)) => Ok(p),
            (None, None) => Err(Error::Invalid(format!(
                "no {0} model is bundled yet ({1}); use --model {2} or --model FILE",
                m.name,
                m.what,
                default_model().name
            ))),
            (Some(f), None) => Err(Error::Invalid(format!(
                "the bundled {} model (assets/{f}) is not in this install; pass --model FILE",
                m.name
            ))),
        };
    }
    let path = PathBuf::from(spec);
    if path.exists() {
        // A folder, pipe or device says what it is.
        crate::io::files::regular_file(&path)?;
    } else {
        let names: Vec<&str> = BUNDLED.iter().map(|m| m.name).collect();
        return Err(Error::Invalid(format!(
            "--model {spec}: no such file, and not a bundled model ({})",
            names.join(", ")
        )));
    }
    Ok(path)
}
