//! Runs a graph on the CPU in f64 with the ops' CPU twins: the oracle the
//! GPU executor is tested against, and the function finite differences
//! differentiate.
use super::{Graph, TensorId, TensorKind};
use crate::error::{Error, Result};

pub struct CpuExecutor {
    values: Vec<Vec<f64>>,
}

impl CpuExecutor {
    /// All tensors zero, constants set.
    pub fn new(graph: &Graph) -> Self {
        let values = graph
            .tensors
            .iter()
            .map(|t| match &t.kind {
                TensorKind::Const(v) => v.iter().map(|&x| x as f64).collect(),
                _ => vec![0.0; t.numel()],
            })
            .collect();
        CpuExecutor { values }
    }

    pub fn set(&mut self, t: TensorId, v: &[f64]) -> Result<()> {
        let want = self.values[t.index()].len();
        if want != v.len() {
            return Err(Error::Invalid(format!(
                "tensor {} holds {want} values, got {}",
                t.0,
                v.len()
            )));
        }
        self.values[t.index()] = v.to_vec();
        Ok(())
    }

    pub fn get(&self, t: TensorId) -> &[f64] {
        &self.values[t.index()]
    }

    /// Runs every node in order (in-place updates of state included).
    pub fn run(&mut self, graph: &Graph) {
        for node in &graph.nodes {
            let ins: Vec<&[f64]> = node
                .inputs
                .iter()
                .map(|t| self.values[t.index()].as_slice())
                .collect();
            let shapes: Vec<&[usize]> = node.inputs.iter().map(|&t| graph.shape(t)).collect();
            let out_shapes: Vec<Vec<usize>> = node
                .outputs
                .iter()
                .map(|&t| graph.shape(t).to_vec())
                .collect();
            let r = node.op.eval_cpu(&ins, &shapes, &out_shapes);
            for (t, v) in node.outputs.iter().zip(r.outputs) {
                self.values[t.index()] = v;
            }
            for (i, v) in r.written {
                self.values[node.inputs[i].index()] = v;
            }
        }
    }
}
