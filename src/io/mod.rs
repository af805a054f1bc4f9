//! Files pconv reads and writes.
pub mod assets;
pub mod files;
pub mod safetensors;
