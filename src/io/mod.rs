//! Files pconv reads and writes.
pub mod files;
pub mod safetensors;
