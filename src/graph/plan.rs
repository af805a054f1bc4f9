//! Static buffer planning from liveness (as wonnx does): every intermediate
//! tensor and node scratch gets a buffer that is handed to a later tensor
//! once its last reader has run. Persistent tensors (inputs, weights, state,
//! constants) and tensors the host reads back keep their own buffers. A
//! U-Net's skips simply stay live until their decoder reads them. Scratch
//! texel arrays are pooled the same way among themselves.
use super::recording::{Recording, TEXELS_PER_ROW};
use super::{Graph, TensorId};

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
}

impl Plan {
    /// Bytes of all buffers and texel arrays (whole rows): the memory a run
    /// of the graph holds.
    pub fn planned_bytes(&self) -> u64 {
        let texels: u64 = self
            .texel_array_texels
            .iter()
            .map(|&t| t.div_ceil(TEXELS_PER_ROW as u64) * TEXELS_PER_ROW as u64)
            .sum();
        self.buffer_bytes.iter().sum::<u64>() + texels * 16
    }
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
}

/// Plans buffers for running `graph` as recorded; `keep` are tensors the
/// host reads after the run (kept alive to the end).
pub fn plan(graph: &Graph, recording: &Recording, keep: &[TensorId]) -> Plan {
    let n_tensors = graph.tensors.len();
    let mut sizes: Vec<u64> = Vec::new();
    let mut tensor_buffer = vec![usize::MAX; n_tensors];
    let dedicated =
        |t: usize| graph.tensors[t].is_persistent() || keep.contains(&TensorId(t as u32));
    for (t, info) in graph.tensors.iter().enumerate() {
        if dedicated(t) {
            sizes.push(info.bytes());
            tensor_buffer[t] = sizes.len() - 1;
        }
    }
    // Last node that reads each tensor.
    let mut last_use = vec![None; n_tensors];
    for (i, node) in graph.nodes.iter().enumerate() {
        for t in &node.inputs {
            last_use[t.index()] = Some(i);
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
            if !dedicated(t.index()) {
                tensor_buffer[t.index()] = free.take(graph.info(*t).bytes(), &mut sizes);
            }
        }
        let scratch: Vec<usize> = recording.nodes[i]
            .scratch_bytes
            .iter()
            .map(|&b| free.take(b.max(4), &mut sizes))
            .collect();
        free.free.extend(&scratch);
        scratch_buffers.push(scratch);
        let arrays: Vec<usize> = recording.nodes[i]
            .scratch_texels
            .iter()
            .map(|&t| free_texels.take(t.max(1), &mut texel_sizes))
            .collect();
        free_texels.free.extend(&arrays);
        scratch_texel_arrays.push(arrays);
        let mut dead: Vec<usize> = node
            .inputs
            .iter()
            .chain(&node.outputs)
            .map(|t| t.index())
            .filter(|&t| !dedicated(t) && last_use[t].is_none_or(|u| u <= i))
            .collect();
        dead.sort_unstable();
        dead.dedup();
        free.free.extend(dead.into_iter().map(|t| tensor_buffer[t]));
    }
    let unplanned_bytes = graph.tensors.iter().map(|t| t.bytes()).sum::<u64>()
        + recording
            .nodes
            .iter()
            .flat_map(|l| &l.scratch_bytes)
            .sum::<u64>()
        + recording
            .nodes
            .iter()
            .flat_map(|l| &l.scratch_texels)
            .map(|t| t * 16)
            .sum::<u64>();
    Plan {
        tensor_buffer,
        scratch_buffers,
        buffer_bytes: sizes,
        scratch_texel_arrays,
        texel_array_texels: texel_sizes,
        unplanned_bytes,
    }
}
