//! How each tensor is stored: f32, or f16 for the activations (and their
//! gradients) that mixed precision keeps in half precision, as autocast
//! does. A tensor is f16 only where the node writing it and every node
//! reading it have a kernel variant that stores it so (`Op::half_io`);
//! inputs, weights, state, constants and the tensors the host reads stay
//! f32. Where one side lacks the variant the tensor stays f32 and that
//! side's f16 variant is not used, so every kernel sees one format per
//! operand and no cast pass is ever inserted: runs of f16-capable kernels
//! form f16 islands whose first kernel reads f32 and whose last writes f32.
use super::{Graph, TensorId, TensorKind};
use crate::kernels::{DeviceTraits, HalfStorage, MixedKernels};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    F32,
    F16,
}

impl Storage {
    /// Bytes of `numel` values (at least 4: a buffer is never empty, and
    /// storage buffers are sized in whole words).
    pub fn bytes(self, numel: usize) -> u64 {
        let each = match self {
            Storage::F32 => 4,
            Storage::F16 => 2,
        };
        ((numel.max(1) * each) as u64).div_ceil(4) * 4
    }
}

/// The storage of every tensor and the f16 variants every node runs.
#[derive(Clone, Debug)]
pub struct StoragePlan {
    pub tensors: Vec<Storage>,
    pub nodes: Vec<HalfStorage>,
}

impl StoragePlan {
    /// Everything f32.
    pub fn f32(graph: &Graph) -> Self {
        StoragePlan {
            tensors: vec![Storage::F32; graph.tensors.len()],
            nodes: vec![HalfStorage::NONE; graph.nodes.len()],
        }
    }

    /// The bytes of tensor `t`'s buffer.
    pub fn bytes(&self, graph: &Graph, t: TensorId) -> u64 {
        self.tensors[t.index()].bytes(graph.info(t).numel())
    }

    /// Values stored as f16.
    pub fn f16_values(&self, graph: &Graph) -> usize {
        (0..graph.tensors.len())
            .filter(|&t| self.tensors[t] == Storage::F16)
            .map(|t| graph.tensors[t].numel())
            .sum()
    }

    /// The largest set of f16 tensors consistent with every node's
    /// variants (`dev.half_storage` in mixed precision; else all f32);
    /// `keep` are the tensors the host reads.
    pub fn assign(graph: &Graph, dev: &DeviceTraits, keep: &[TensorId]) -> Self {
        let mut plan = Self::f32(graph);
        if !dev.half_storage || dev.mixed == MixedKernels::Off {
            return plan;
        }
        let io: Vec<(&[usize], &[usize])> = graph
            .nodes
            .iter()
            .map(|n| {
                let shapes: Vec<&[usize]> = n.inputs.iter().map(|&t| graph.shape(t)).collect();
                n.op.half_io(&shapes, dev)
            })
            .collect();
        let mut producer = vec![None; graph.tensors.len()];
        let mut consumers: Vec<Vec<(usize, usize)>> = vec![Vec::new(); graph.tensors.len()];
        for (i, n) in graph.nodes.iter().enumerate() {
            for (k, t) in n.outputs.iter().enumerate() {
                producer[t.index()] = Some((i, k));
            }
            for (k, t) in n.inputs.iter().enumerate() {
                consumers[t.index()].push((i, k));
            }
        }
        let half = &mut plan.nodes;
        for (h, (i, o)) in half.iter_mut().zip(&io) {
            *h = HalfStorage {
                input: !i.is_empty(),
                output: !o.is_empty(),
            };
        }
        let candidate = |t: usize| {
            graph.tensors[t].kind == TensorKind::Intermediate && !keep.contains(&TensorId(t as u32))
        };
        // Each pass only turns variants off, so this ends.
        loop {
            let mut changed = false;
            for t in 0..graph.tensors.len() {
                let writes_f16 = |h: &[HalfStorage]| {
                    producer[t].is_some_and(|(i, k)| h[i].output && io[i].1.contains(&k))
                };
                let reads_f16 = |h: &[HalfStorage], &(i, k): &(usize, usize)| {
                    h[i].input && io[i].0.contains(&k)
                };
                let f16 = candidate(t)
                    && writes_f16(half)
                    && consumers[t].iter().all(|c| reads_f16(half, c));
                if f16 {
                    continue;
                }
                if writes_f16(half) {
                    half[producer[t].expect("written").0].output = false;
                    changed = true;
                }
                for c in &consumers[t] {
                    if reads_f16(half, c) {
                        half[c.0].input = false;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        for (t, written) in producer.iter().enumerate() {
            if let Some((i, k)) = *written {
                if candidate(t) && half[i].output && io[i].1.contains(&k) {
                    plan.tensors[t] = Storage::F16;
                }
            }
        }
        plan
    }
}
