//! Everything that talks to wgpu: the device context, the embedded kernels
//! and the executor that runs a planned graph.
pub mod context;
pub mod executor;
pub mod shaders;

pub use context::GpuContext;
pub use executor::{Executor, PendingScalars};
pub use shaders::Kernel;
