//! The safetensors format (f32 only): checkpoints and VGG weights.
//! Reading checks every length and offset, so a truncated or corrupt file
//! is an error naming what is wrong, never a panic. Writing is
//! deterministic (metadata first, tensors sorted by name, header padded with
//! spaces to 8 bytes, as the PyTorch reference writes) and atomic (temp
//! file, fsync, rename), so a crash never leaves half a checkpoint.
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};

/// One f32 tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// The contents of a safetensors file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SafeTensors {
    pub metadata: BTreeMap<String, String>,
    pub tensors: BTreeMap<String, Tensor>,
}

fn bad(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{}: {what}", path.display()))
}

impl SafeTensors {
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = super::files::read_regular(path, super::files::memory_budget())?;
        Self::parse(path, &bytes)
    }

    /// Parses file bytes; `path` only names the file in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        let len_bytes: [u8; 8] =
            bytes
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    bad(
                        path,
                        "not a safetensors file (shorter than its 8-byte header length)",
                    )
                })?;
        let header_len = u64::from_le_bytes(len_bytes) as usize;
        let header = bytes
            .get(8..8usize.saturating_add(header_len))
            .ok_or_else(|| bad(path, "truncated: the header runs past the end of the file"))?;
        let json: serde_json::Value = serde_json::from_slice(header)
            .map_err(|e| bad(path, format!("corrupt header: {e}")))?;
        let obj = json
            .as_object()
            .ok_or_else(|| bad(path, "corrupt header: not a JSON object"))?;
        let data = &bytes[8 + header.len()..];
        let mut out = SafeTensors::default();
        for (name, entry) in obj {
            if name == "__metadata__" {
                for (k, v) in entry.as_object().into_iter().flatten() {
                    if let Some(s) = v.as_str() {
                        out.metadata.insert(k.clone(), s.to_string());
                    }
                }
                continue;
            }
            let dtype = entry.get("dtype").and_then(|d| d.as_str()).unwrap_or("?");
            if dtype != "F32" {
                return Err(bad(
                    path,
                    format!("tensor {name} has dtype {dtype}, expected F32"),
                ));
            }
            let shape: Vec<usize> = entry
                .get("shape")
                .and_then(|s| s.as_array())
                .ok_or_else(|| bad(path, format!("tensor {name} has no shape")))?
                .iter()
                .map(|d| d.as_u64().map(|v| v as usize))
                .collect::<Option<_>>()
                .ok_or_else(|| bad(path, format!("tensor {name} has a bad shape")))?;
            let offsets: Vec<usize> = entry
                .get("data_offsets")
                .and_then(|s| s.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_u64().map(|v| v as usize))
                        .collect()
                })
                .unwrap_or_default();
            let [begin, end] = <[usize; 2]>::try_from(offsets)
                .map_err(|_| bad(path, format!("tensor {name} has bad data_offsets")))?;
            let bytes = shape
                .iter()
                .try_fold(4usize, |n, &d| n.checked_mul(d))
                .ok_or_else(|| bad(path, format!("tensor {name} has an absurd shape {shape:?}")))?;
            if end < begin || end - begin != bytes {
                return Err(bad(
                    path,
                    format!(
                        "tensor {name}: {} bytes for shape {shape:?}",
                        end.saturating_sub(begin)
                    ),
                ));
            }
            let raw = data.get(begin..end).ok_or_else(|| {
                bad(
                    path,
                    format!("truncated: tensor {name} runs past the end of the file"),
                )
            })?;
            let values = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            out.tensors.insert(
                name.clone(),
                Tensor {
                    shape,
                    data: values,
                },
            );
        }
        Ok(out)
    }

    /// The tensor `name` with the expected shape, or an error naming it.
    pub fn expect(&self, path: &Path, name: &str, shape: &[usize]) -> Result<&Tensor> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| bad(path, format!("missing tensor {name}")))?;
        if t.shape != shape {
            return Err(bad(
                path,
                format!("tensor {name} has shape {:?}, expected {shape:?}", t.shape),
            ));
        }
        Ok(t)
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = String::from("{");
        let mut first = true;
        let mut sep = |h: &mut String| {
            if !first {
                h.push(',');
            }
            first = false;
        };
        if !self.metadata.is_empty() {
            sep(&mut header);
            header.push_str("\"__metadata__\":");
            header.push_str(&serde_json::to_string(&self.metadata).unwrap_or_else(|_| "{}".into()));
        }
        let mut offset = 0usize;
        for (name, t) in &self.tensors {
            sep(&mut header);
            let end = offset + t.data.len() * 4;
            let entry = serde_json::json!({"dtype": "F32", "shape": t.shape, "data_offsets": [offset, end]});
            header.push_str(&serde_json::to_string(name).unwrap_or_default());
            header.push(':');
            header.push_str(&entry.to_string());
            offset = end;
        }
        header.push('}');
        while header.len() % 8 != 0 {
            header.push(' ');
        }
        let mut out = Vec::with_capacity(8 + header.len() + offset);
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        for t in self.tensors.values() {
            for v in &t.data {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// Writes atomically (`io::files::write_atomic`): on failure (a full
    /// disk) `path` is untouched; a pipe or device there is refused.
    pub fn write_atomic(&self, path: &Path) -> Result<()> {
        crate::io::files::write_atomic(path, &self.to_bytes())
    }
}
