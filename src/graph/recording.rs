//! A `Recording` is the list of kernel dispatches that runs a graph: kernel,
//! uniform parameters, buffer bindings and grid size per dispatch. It is
//! built from the graph without touching wgpu; the executor turns it into
//! pipelines, bind groups and one command buffer.
use crate::graph::storage::StoragePlan;
use crate::graph::{Graph, TensorId, TensorKind};
use crate::kernels::{DeviceTraits, Lowered};
use crate::ops::{NnOp, Op};

/// The dispatches of every node, in order, and how every tensor is stored.
pub struct Recording {
    pub nodes: Vec<Lowered>,
    pub storage: StoragePlan,
    /// Per tensor, the tensor whose buffer it shares: an activation fused
    /// into the op before it (a convolution or BatchNorm writes the
    /// activation's result into its own output's buffer, and the
    /// activation node runs nothing).
    pub aliases: Vec<Option<TensorId>>,
}

impl Recording {
    /// `keep`: the tensors the host reads after a run (stored as f32).
    pub fn of(graph: &Graph, dev: &DeviceTraits, keep: &[TensorId]) -> Self {
        let storage = StoragePlan::assign(graph, dev, keep);
        let mut aliases = vec![None; graph.tensors.len()];
        let mut fused_away = vec![false; graph.nodes.len()];
        let fusions = if dev.fuse_activations {
            activation_fusions(graph, &storage, keep)
        } else {
            Default::default()
        };
        let nodes = graph
            .nodes
            .iter()
            .zip(&storage.nodes)
            .enumerate()
            .map(|(i, (n, &half))| {
                if fused_away[i] {
                    return Lowered::default();
                }
                let ins: Vec<&[usize]> = n.inputs.iter().map(|&t| graph.shape(t)).collect();
                if let Some(&(j, slope)) = fusions.get(&i) {
                    if let Some(lowered) = n.op.lower_with_activation(&ins, dev, half, slope) {
                        fused_away[j] = true;
                        aliases[graph.nodes[j].outputs[0].index()] = Some(n.outputs[0]);
                        return lowered;
                    }
                }
                let outs: Vec<&[usize]> = n.outputs.iter().map(|&t| graph.shape(t)).collect();
                n.op.lower(&ins, &outs, dev, half)
            })
            .collect();
        Recording {
            nodes,
            storage,
            aliases,
        }
    }

    pub fn dispatch_count(&self) -> usize {
        self.nodes.iter().map(|l| l.dispatches.len()).sum()
    }
}

/// Node pairs (producer i -> (activation j, slope)) where the activation
/// is the only reader of the producer's (first) output and both results
/// are stored alike and by the plan (neither read by the host): the
/// activation can then run in the producer's kernel, writing into the
/// output's buffer, which the activation's result takes over. VGG's
/// forward activations after its convolutions (in mixed precision) and
/// the U-Net's after BatchNorm, each reading and writing a whole feature
/// map, cost nothing then. Whether the producer has a fused kernel is its
/// lowering's to say (`Op::lower_with_activation`).
fn activation_fusions(
    graph: &Graph,
    storage: &StoragePlan,
    keep: &[TensorId],
) -> std::collections::HashMap<usize, (usize, f32)> {
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); graph.tensors.len()];
    for (j, n) in graph.nodes.iter().enumerate() {
        for t in &n.inputs {
            readers[t.index()].push(j);
        }
    }
    let planned =
        |t: TensorId| graph.info(t).kind == TensorKind::Intermediate && !keep.contains(&t);
    let mut fusions = std::collections::HashMap::new();
    for (i, n) in graph.nodes.iter().enumerate() {
        let Some(&t) = n.outputs.first() else {
            continue;
        };
        let [j] = readers[t.index()][..] else {
            continue;
        };
        let Op::Nn(NnOp::Activation { slope }) = graph.nodes[j].op else {
            continue;
        };
        let y = graph.nodes[j].outputs[0];
        if j > i
            && planned(t)
            && planned(y)
            && storage.tensors[t.index()] == storage.tensors[y.index()]
        {
            fusions.insert(i, (j, slope));
        }
    }
    fusions
}
