//! The computation graph: tensors, nodes, the builder API, autodiff, buffer
//! planning, the lowering of nodes to kernel dispatches (a `Recording` that
//! knows no wgpu), which tensors mixed precision stores as f16, and a CPU executor that runs the same graph with the CPU
//! twins of the kernels.
pub mod autodiff;
mod builder;
pub mod cpu;
pub mod plan;
pub mod recording;
pub mod storage;

pub use builder::{Graph, Node, TensorId, TensorInfo, TensorKind};
