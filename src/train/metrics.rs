//! One line of `metrics.jsonl` per training step.
use std::io::{BufRead, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// The loss terms in metrics order (see `LossTerms::named`).
pub const TERMS: [&str; 7] = [
    "valid",
    "hole",
    "perc",
    "style_out",
    "style_comp",
    "tv",
    "total",
];

#[derive(Clone, Debug, PartialEq)]
pub struct StepMetrics {
    pub step: u64,
    /// Values of `TERMS`, in that order.
    pub losses: [f64; 7],
    pub lr: f64,
    pub images_per_s: f64,
}

impl StepMetrics {
    pub fn total(&self) -> f64 {
        self.losses[6]
    }

    pub fn is_finite(&self) -> bool {
        self.losses.iter().all(|v| v.is_finite())
    }

    /// The JSON object with exactly the keys `step`, the seven terms, `lr`
    /// and `images_per_s`.
    pub fn to_json(&self) -> String {
        let mut obj = serde_json::Map::new();
        obj.insert("step".into(), self.step.into());
        for (name, v) in TERMS.iter().zip(self.losses) {
            // serde_json writes non-finite numbers as null.
            obj.insert((*name).into(), v.into());
        }
        obj.insert("lr".into(), self.lr.into());
        obj.insert("images_per_s".into(), self.images_per_s.into());
        serde_json::Value::Object(obj).to_string()
    }

    pub fn from_json(line: &str) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| Error::Invalid(format!("metrics line {line:?}: {e}")))?;
        let num = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_f64())
                .ok_or_else(|| Error::Invalid(format!("metrics line lacks {k:?}: {line}")))
        };
        let mut losses = [0.0; 7];
        for (slot, name) in losses.iter_mut().zip(TERMS) {
            *slot = num(name)?;
        }
        Ok(StepMetrics {
            step: num("step")? as u64,
            losses,
            lr: num("lr")?,
            images_per_s: num("images_per_s")?,
        })
    }
}

/// Appends one line per step, flushed at once so a crash loses nothing.
pub struct MetricsLog {
    file: std::fs::File,
}

impl MetricsLog {
    /// Opens `path` for a run that continues after `kept_step`: lines of
    /// later steps (from an interrupted run past its last checkpoint) are
    /// dropped so every step appears once.
    pub fn open(path: &Path, kept_step: u64) -> Result<Self> {
        let io = |e: std::io::Error| Error::Invalid(format!("{}: {e}", path.display()));
        let mut kept = Vec::new();
        if kept_step > 0 && path.exists() {
            let f = std::fs::File::open(path).map_err(io)?;
            for line in std::io::BufReader::new(f).lines() {
                let line = line.map_err(io)?;
                if StepMetrics::from_json(&line).is_ok_and(|m| m.step <= kept_step) {
                    kept.push(line);
                }
            }
        }
        let mut file = std::fs::File::create(path).map_err(io)?;
        for line in kept {
            writeln!(file, "{line}").map_err(io)?;
        }
        Ok(MetricsLog { file })
    }

    pub fn append(&mut self, m: &StepMetrics) -> Result<()> {
        writeln!(self.file, "{}", m.to_json())
            .and_then(|_| self.file.flush())
            .map_err(|e| Error::Invalid(format!("writing metrics.jsonl: {e}")))
    }
}
