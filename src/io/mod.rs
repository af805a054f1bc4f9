//! Files pconv reads and writes.
pub mod safetensors;
