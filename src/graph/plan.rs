//! Static buffer planning from liveness (as wonnx does): every intermediate
//! tensor and node scratch gets a buffer that is handed to a later tensor
//! once its last reader has run. Persistent tensors (inputs, weights, state,
//! constants) and tensors the host reads back keep their own buffers. A
//! U-Net's skips simply stay live until their decoder reads them. Scratch
//! texel arrays are pooled the same way among themselves. Hoisted dispatches
//! (`Lowered::hoistable` on weights no run changes) keep their scratch to
//! themselves, so what they wrote serves every later run.
use std::collections::HashSet;

use super::recording::Recording;
use super::{Graph, TensorId, TensorKind};
use crate::kernels::{Binding, TEXELS_PER_ROW};

#[derive(Clone, Debug)]
pub struct Plan {
    /// Buffer of every tensor.
    pub tensor_buffer: Vec<usize>,
    /// Buffers of every node's scratch, in the node's scratch order.
    pub scratch_buffers: Vec<Vec<usize>>,
    /// Size in bytes of every buffer.
    pub buffer_bytes: Vec<u64>,
    /// Texel arrays of every node's scratch, in the node's order.
    pub scratch_texel_arrays: Vec<Vec<usize>>,
    /// Size in texels (vec4s) of every texel array.
    pub texel_array_texels: Vec<u64>,
    /// Bytes without any reuse, for comparison.
    pub unplanned_bytes: u64,
    /// Per node, whether each dispatch is hoisted: run once after its
    /// inputs are written rather than every run.
    pub hoisted: Vec<Vec<bool>>,
}

impl Plan {
    /// Bytes of all buffers and texel arrays (whole rows): the memory a run
    /// of the graph holds.
    pub fn planned_bytes(&self) -> u64 {
        let texels: u64 = self.texel_array_texels.iter().map(|&t| whole_rows(t)).sum();
        self.buffer_bytes.iter().sum::<u64>() + texels * 16
    }
}

/// Texels of an array of `texels`, in whole rows as it is allocated.
fn whole_rows(texels: u64) -> u64 {
    texels.max(1).div_ceil(TEXELS_PER_ROW as u64) * TEXELS_PER_ROW as u64
}

struct FreeList {
    free: Vec<usize>,
}

impl FreeList {
    /// Best fit: the smallest free buffer that holds `bytes`, else the
    /// largest free one grown to `bytes`, else a new buffer.
    fn take(&mut self, bytes: u64, sizes: &mut Vec<u64>) -> usize {
        let fit = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, &b)| sizes[b] >= bytes)
            .min_by_key(|(_, &b)| sizes[b])
            .map(|(i, _)| i);
        let pick = fit.or_else(|| {
            self.free
                .iter()
                .enumerate()
                .max_by_key(|(_, &b)| sizes[b])
                .map(|(i, _)| i)
        });
        match pick {
            Some(i) => {
                let b = self.free.swap_remove(i);
                sizes[b] = sizes[b].max(bytes);
                b
            }
            None => {
                sizes.push(bytes);
                sizes.len() - 1
            }
        }
    }

    /// Places a node's scratch of `needed` sizes (at least `min` each):
    /// slots in `own` get new resources of their own, the rest come from the
    /// pool and return to it after the node (not before, so a node's scratch
    /// is distinct).
    fn node_scratch(
        &mut self,
        needed: &[u64],
        min: u64,
        own: &HashSet<usize>,
        sizes: &mut Vec<u64>,
    ) -> Vec<usize> {
        let placed: Vec<usize> = needed
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                if own.contains(&k) {
                    sizes.push(n.max(min));
                    sizes.len() - 1
                } else {
                    self.take(n.max(min), sizes)
                }
            })
            .collect();
        let pooled = (0..placed.len()).filter(|k| !own.contains(k));
        self.free.extend(pooled.map(|k| placed[k]));
        placed
    }
}

/// Which dispatches of each node are hoisted: the node's `hoistable` ones
/// whose inputs are all weights or constants that no node updates in place
/// (so never in a training step, where Adam updates the weights).
fn hoisted(graph: &Graph, recording: &Recording) -> Vec<Vec<bool>> {
    let updated: HashSet<TensorId> = graph
        .nodes
        .iter()
        .flat_map(|n| n.op.written_inputs().iter().map(|&k| n.inputs[k]))
        .collect();
    let fixed = |t: TensorId| {
        matches!(graph.info(t).kind, TensorKind::Param | TensorKind::Const(_))
            && !updated.contains(&t)
    };
    graph
        .nodes
        .iter()
        .zip(&recording.nodes)
        .map(|(node, lowered)| {
            let mut flags = vec![false; lowered.dispatches.len()];
            for &d in &lowered.hoistable {
                flags[d] = lowered.dispatches[d].bindings.iter().all(|b| match *b {
                    Binding::Input(k) => fixed(node.inputs[k]),
                    Binding::Output(_) => false,
                    Binding::Scratch(_) | Binding::ScratchTexels(_) | Binding::Unused => true,
                });
            }
            flags
        })
        .collect()
}

/// Plans buffers for running `graph` as recorded; `keep` are tensors the
/// host reads after the run (kept alive to the end).
pub fn plan(graph: &Graph, recording: &Recording, keep: &[TensorId]) -> Plan {
    let hoisted = hoisted(graph, recording);
    let n_tensors = graph.tensors.len();
    let mut sizes: Vec<u64> = Vec::new();
    let mut tensor_buffer = vec![usize::MAX; n_tensors];
    let dedicated =
        |t: usize| graph.tensors[t].is_persistent() || keep.contains(&TensorId(t as u32));
    for (t, info) in graph.tensors.iter().enumerate() {
        if dedicated(t) {
            sizes.push(recording.storage.tensors[t].bytes(info.numel()));
            tensor_buffer[t] = sizes.len() - 1;
        }
    }
    // Last node that reads each tensor; a tensor whose buffer another
    // (fused) result takes over lives as long as that result is read.
    let mut last_use = vec![None; n_tensors];
    for (i, node) in graph.nodes.iter().enumerate() {
        for t in &node.inputs {
            last_use[t.index()] = Some(i);
        }
    }
    for (t, alias) in recording.aliases.iter().enumerate() {
        if let Some(owner) = alias {
            let o = owner.index();
            last_use[o] = last_use[o].max(last_use[t]);
        }
    }
    let mut free = FreeList { free: Vec::new() };
    let mut scratch_buffers = Vec::with_capacity(graph.nodes.len());
    let mut texel_sizes: Vec<u64> = Vec::new();
    let mut free_texels = FreeList { free: Vec::new() };
    let mut scratch_texel_arrays = Vec::with_capacity(graph.nodes.len());
    for (i, node) in graph.nodes.iter().enumerate() {
        // Outputs and scratch are placed while the inputs are still held, so
        // a dispatch never reads and writes one buffer.
        for t in &node.outputs {
            if let Some(owner) = recording.aliases[t.index()] {
                tensor_buffer[t.index()] = tensor_buffer[owner.index()];
            } else if !dedicated(t.index()) {
                let bytes = recording.storage.bytes(graph, *t);
                tensor_buffer[t.index()] = free.take(bytes, &mut sizes);
            }
        }
        // Scratch that hoisted dispatches write is theirs alone.
        let lowered = &recording.nodes[i];
        let (mut own_buffers, mut own_arrays) = (HashSet::new(), HashSet::new());
        for (d, _) in hoisted[i].iter().enumerate().filter(|(_, &h)| h) {
            for b in &lowered.dispatches[d].bindings {
                match *b {
                    Binding::Scratch(k) => own_buffers.insert(k),
                    Binding::ScratchTexels(k) => own_arrays.insert(k),
                    _ => false,
                };
            }
        }
        scratch_buffers.push(free.node_scratch(
            &lowered.scratch_bytes,
            4,
            &own_buffers,
            &mut sizes,
        ));
        scratch_texel_arrays.push(free_texels.node_scratch(
            &lowered.scratch_texels,
            1,
            &own_arrays,
            &mut texel_sizes,
        ));
        let mut dead: Vec<usize> = node
            .inputs
            .iter()
            .chain(&node.outputs)
            // A shared buffer is the owner's, freed after its last reader.
            .map(|t| recording.aliases[t.index()].unwrap_or(*t).index())
            .filter(|&t| !dedicated(t) && last_use[t].is_none_or(|u| u <= i))
            .collect();
        dead.sort_unstable();
        dead.dedup();
        free.free.extend(dead.into_iter().map(|t| tensor_buffer[t]));
    }
    let unplanned_bytes = (0..graph.tensors.len())
        .map(|t| recording.storage.bytes(graph, TensorId(t as u32)))
        .sum::<u64>()
        + recording
            .nodes
            .iter()
            .flat_map(|l| &l.scratch_bytes)
            .sum::<u64>()
        + recording
            .nodes
            .iter()
            .flat_map(|l| &l.scratch_texels)
            .map(|&t| whole_rows(t) * 16)
            .sum::<u64>();
    Plan {
        tensor_buffer,
        scratch_buffers,
        buffer_bytes: sizes,
        scratch_texel_arrays,
        texel_array_texels: texel_sizes,
        unplanned_bytes,
        hoisted,
    }
}
