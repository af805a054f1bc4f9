//! A `Recording` is the list of kernel dispatches that runs a graph: kernel,
//! uniform parameters, buffer bindings and grid size per dispatch. It is
//! built from the graph without touching wgpu; the executor turns it into
//! pipelines, bind groups and one command buffer.
use crate::graph::Graph;
use crate::kernels::{DeviceTraits, Lowered};

/// The dispatches of every node, in order.
pub struct Recording {
    pub nodes: Vec<Lowered>,
}

impl Recording {
    pub fn of(graph: &Graph, dev: &DeviceTraits) -> Self {
        let nodes = graph
            .nodes
            .iter()
            .map(|n| {
                let ins: Vec<&[usize]> = n.inputs.iter().map(|&t| graph.shape(t)).collect();
                let outs: Vec<&[usize]> = n.outputs.iter().map(|&t| graph.shape(t)).collect();
                n.op.lower(&ins, &outs, dev)
            })
            .collect();
        Recording { nodes }
    }

    pub fn dispatch_count(&self) -> usize {
        self.nodes.iter().map(|l| l.dispatches.len()).sum()
    }
}
