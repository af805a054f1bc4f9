//! One line of `metrics.jsonl` per training step.
use std::io::{BufRead, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::loss::LossTerms;

#[derive(Clone, Debug, PartialEq)]
pub struct StepMetrics {
    pub step: u64,
    pub losses: LossTerms<f64>,
    pub lr: f64,
    pub images_per_s: f64,
    /// Mixed precision: the dynamic loss scale after the step and the
    /// steps skipped so far in this run for overflowing it.
    pub loss_scale: Option<(f64, f64)>,
}

impl StepMetrics {
    pub fn total(&self) -> f64 {
        self.losses.total
    }

    pub fn is_finite(&self) -> bool {
        self.losses.is_finite()
    }

    /// The JSON object with exactly the keys `step`, the seven terms, `lr`
    /// and `images_per_s`.
    pub fn to_json(&self) -> String {
        let mut obj = serde_json::Map::new();
        obj.insert("step".into(), self.step.into());
        for (name, v) in self.losses.named() {
            // serde_json writes non-finite numbers as null.
            obj.insert(name.into(), v.into());
        }
        obj.insert("lr".into(), self.lr.into());
        obj.insert("images_per_s".into(), self.images_per_s.into());
        if let Some((scale, skipped)) = self.loss_scale {
            obj.insert("loss_scale".into(), scale.into());
            obj.insert("skipped_steps".into(), skipped.into());
        }
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
        let values = crate::loss::TERM_NAMES
            .iter()
            .map(|name| num(name))
            .collect::<Result<Vec<f64>>>()?;
        Ok(StepMetrics {
            step: num("step")? as u64,
            losses: LossTerms::from_slice(&values).expect("seven names, seven values"),
            lr: num("lr")?,
            images_per_s: num("images_per_s")?,
            loss_scale: num("loss_scale").ok().zip(num("skipped_steps").ok()),
        })
    }
}

/// Appends one line per step, flushed at once so a crash loses nothing.
/// A failed write (a full disk) does not stop training: the file is cut
/// back to its last whole line, the lines are kept in memory (up to
/// `MAX_PENDING`) and written with the next step's.
pub struct MetricsLog {
    file: std::fs::File,
    /// Bytes of whole lines in the file.
    written: u64,
    pending: Vec<String>,
    failing: bool,
}

/// Lines kept in memory while the disk refuses them (about 20 MB).
pub const MAX_PENDING: usize = 100_000;

impl MetricsLog {
    /// Opens `path` for a run that continues after `kept_step`: lines of
    /// later steps (from an interrupted run past its last checkpoint) are
    /// dropped so every step appears once. The kept lines go to a new file
    /// that replaces the old one by rename, so a kill at any moment leaves
    /// either the old file or the new one, never a part of it.
    pub fn open(path: &Path, kept_step: u64) -> Result<Self> {
        let io = |e: std::io::Error| Error::Invalid(format!("{}: {e}", path.display()));
        if kept_step > 0 && path.exists() {
            let f = std::fs::File::open(path).map_err(io)?;
            let mut kept = String::new();
            for line in std::io::BufReader::new(f).lines() {
                let line = line.map_err(io)?;
                if StepMetrics::from_json(&line).is_ok_and(|m| m.step <= kept_step) {
                    kept.push_str(&line);
                    kept.push('\n');
                }
            }
            crate::io::files::write_atomic(path, kept.as_bytes())?;
        }
        // A new run starts the file empty; a resumed one appends.
        let fresh = kept_step == 0;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(fresh)
            .truncate(fresh)
            .append(!fresh)
            .open(path)
            .map_err(io)?;
        let written = file.metadata().map_err(io)?.len();
        Ok(MetricsLog {
            file,
            written,
            pending: Vec::new(),
            failing: false,
        })
    }

    /// Writes the step's line (and any kept back). Returns a warning to
    /// show when writing starts failing, or works again.
    pub fn append(&mut self, m: &StepMetrics) -> Option<String> {
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(m.to_json());
        let mut text = self.pending.join("\n");
        text.push('\n');
        let result = self
            .file
            .write_all(text.as_bytes())
            .and_then(|_| self.file.flush());
        match result {
            Ok(()) => {
                self.written += text.len() as u64;
                let caught_up = self.pending.len();
                self.pending.clear();
                std::mem::take(&mut self.failing).then(|| {
                    format!("metrics.jsonl is written again ({caught_up} lines caught up)")
                })
            }
            Err(e) => {
                // Drop a partly written line, so the file stays whole lines.
                let _ = self.file.set_len(self.written);
                (!std::mem::replace(&mut self.failing, true)).then(|| {
                    format!(
                        "metrics.jsonl could not be written ({e}); training goes on, keeping up to {MAX_PENDING} lines in memory and retrying each step"
                    )
                })
            }
        }
    }
}
