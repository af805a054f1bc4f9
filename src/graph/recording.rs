//! A `Recording` is the list of kernel dispatches that runs a graph: kernel,
//! uniform parameters, buffer bindings and grid size per dispatch. It is
//! built from the graph without touching wgpu; the executor turns it into
//! pipelines, bind groups and one command buffer.
use crate::graph::storage::StoragePlan;
use crate::graph::{Graph, TensorId};
use crate::kernels::{DeviceTraits, Lowered};

/// The dispatches of every node, in order, and how every tensor is stored.
pub struct Recording {
    pub nodes: Vec<Lowered>,
    pub storage: StoragePlan,
}

impl Recording {
    /// `keep`: the tensors the host reads after a run (stored as f32).
    pub fn of(graph: &Graph, dev: &DeviceTraits, keep: &[TensorId]) -> Self {
        let storage = StoragePlan::assign(graph, dev, keep);
        let nodes = graph
            .nodes
            .iter()
            .zip(&storage.nodes)
            .map(|(n, &half)| {
                let ins: Vec<&[usize]> = n.inputs.iter().map(|&t| graph.shape(t)).collect();
                let outs: Vec<&[usize]> = n.outputs.iter().map(|&t| graph.shape(t)).collect();
                n.op.lower(&ins, &outs, dev, half)
            })
            .collect();
        Recording { nodes, storage }
    }

    pub fn dispatch_count(&self) -> usize {
        self.nodes.iter().map(|l| l.dispatches.len()).sum()
    }
}
