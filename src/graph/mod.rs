//! The computation graph: tensors, nodes, the builder API, autodiff, buffer
//! planning, the lowering of nodes to kernel dispatches (a `Recording` that
//! knows no wgpu) and a CPU executor that runs the same graph with the CPU
//! twins of the kernels.
pub mod autodiff;
mod builder;
pub mod cpu;
pub mod plan;
pub mod recording;

pub use builder::{Graph, Node, TensorId, TensorInfo, TensorKind};
