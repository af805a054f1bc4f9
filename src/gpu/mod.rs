//! Everything that talks to wgpu: the device context and the executor that
//! runs a planned graph.
pub mod context;
pub mod direct;
pub mod executor;
pub mod precision;

pub use context::GpuContext;
pub use executor::{Executor, PendingScalars};
pub use precision::{MixedPrecision, Precision};
