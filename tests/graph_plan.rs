//! Buffer planning and recording on the CPU only (no GPU): tensors that
//! share a buffer are never alive at the same time, persistent tensors own
//! theirs, and reuse shrinks the training step's memory.
use std::collections::{HashMap, HashSet};

use pconv::graph::plan::plan;
use pconv::graph::recording::Recording;
use pconv::graph::storage::Storage;
use pconv::graph::{Graph, TensorId};
use pconv::kernels::Shader;
use pconv::kernels::{Binding, DeviceTraits, MixedKernels};
use pconv::loss::{Preprocess, VggConfig};
use pconv::model::{Mode, UNet, UNetConfig};
use pconv::ops::{NnOp, Op};
use pconv::train::{TrainStep, TrainStepConfig};

fn step(levels: usize, width: f64, size: usize, batch: usize, vgg: VggConfig) -> TrainStep {
    TrainStep::build(&TrainStepConfig {
        net: UNetConfig { levels, width },
        vgg,
        preprocess: Preprocess::Caffe,
        batch,
        height: size,
        width: size,
        mode: Mode::Train,
        ignore_unknown: false,
        ema: None,
        accumulate: false,
        loss_scaling: false,
    })
    .unwrap()
}

/// [first, last] node index during which each buffer user is alive.
fn check_no_overlap(g: &Graph, rec: &Recording, keep: &[TensorId]) -> (u64, u64) {
    let p = plan(g, rec, keep);
    let n_nodes = g.nodes.len();
    let mut users: Vec<Vec<(usize, usize, String)>> = vec![Vec::new(); p.buffer_bytes.len()];
    let mut def = vec![None; g.tensors.len()];
    let mut last = vec![0usize; g.tensors.len()];
    for (i, node) in g.nodes.iter().enumerate() {
        for t in &node.outputs {
            def[t.index()] = Some(i);
            last[t.index()] = last[t.index()].max(i);
        }
        for t in &node.inputs {
            last[t.index()] = last[t.index()].max(i);
        }
    }
    // A fused activation's result shares its convolution's buffer: one
    // user from the convolution to the result's last reader.
    for (t, alias) in rec.aliases.iter().enumerate() {
        if let Some(owner) = alias {
            assert_eq!(p.tensor_buffer[t], p.tensor_buffer[owner.index()]);
            last[owner.index()] = last[owner.index()].max(last[t]);
        }
    }
    for (t, info) in g.tensors.iter().enumerate() {
        if rec.aliases[t].is_some() {
            continue;
        }
        let b = p.tensor_buffer[t];
        assert!(
            b < p.buffer_bytes.len(),
            "tensor {} has no buffer",
            info.name
        );
        assert!(
            p.buffer_bytes[b] >= rec.storage.bytes(g, TensorId(t as u32)),
            "buffer too small for {}",
            info.name
        );
        let interval = if info.is_persistent() || keep.contains(&TensorId(t as u32)) {
            (0, n_nodes)
        } else {
            (def[t].expect("intermediate has a producer"), last[t])
        };
        users[b].push((interval.0, interval.1, info.name.clone()));
    }
    for (i, scratch) in p.scratch_buffers.iter().enumerate() {
        for &b in scratch {
            users[b].push((i, i, format!("scratch of node {i}")));
        }
    }
    // A node's texel arrays are distinct and large enough.
    for (i, arrays) in p.scratch_texel_arrays.iter().enumerate() {
        for (k, &a) in arrays.iter().enumerate() {
            assert!(p.texel_array_texels[a] >= rec.nodes[i].scratch_texels[k]);
            assert!(
                !arrays[..k].contains(&a),
                "node {i} uses texel array {a} twice"
            );
        }
    }
    for list in &mut users {
        list.sort();
        for w in list.windows(2) {
            assert!(
                w[0].1 < w[1].0,
                "{} [{}, {}] and {} [{}, {}] share a buffer",
                w[0].2,
                w[0].0,
                w[0].1,
                w[1].2,
                w[1].0,
                w[1].1
            );
        }
    }
    (p.planned_bytes(), p.unplanned_bytes)
}

#[test]
fn tiny_training_step_plan_is_sound() {
    let s = step(
        3,
        1.0 / 16.0,
        16,
        2,
        VggConfig {
            channels: [4, 6, 8],
        },
    );
    for traits in [DeviceTraits::CPU_ADAPTER, lavapipe()] {
        let keep: Vec<TensorId> = s.losses.to_array().to_vec();
        let rec = Recording::of(&s.graph, &traits, &keep);
        let (planned, unplanned) = check_no_overlap(&s.graph, &rec, &keep);
        assert!(planned < unplanned, "{planned} vs {unplanned}");
    }
}

#[test]
fn full_size_training_step_plan_reuses_memory() {
    // L7, 256x256, batch 1 with real VGG-16 widths: graph and plan only.
    let s = step(7, 1.0, 256, 1, VggConfig::VGG16);
    let keep: Vec<TensorId> = s.losses.to_array().to_vec();
    let rec = Recording::of(&s.graph, &DeviceTraits::GPU, &keep);
    let (planned, unplanned) = check_no_overlap(&s.graph, &rec, &keep);
    eprintln!(
        "L7 256x256 b1 train step: {} nodes, {} dispatches, planned {:.1} MiB, without reuse {:.1} MiB",
        s.graph.nodes.len(),
        rec.dispatch_count(),
        planned as f64 / (1 << 20) as f64,
        unplanned as f64 / (1 << 20) as f64
    );
    assert!(
        planned * 2 < unplanned,
        "reuse should at least halve memory: {planned} vs {unplanned}"
    );
}

/// lavapipe's choices: subgroup kernels reading texel arrays.
fn lavapipe() -> DeviceTraits {
    DeviceTraits {
        subgroups_8_to_64: true,
        flat_subgroup_size: 8,
        texel_rows: 16384,
        ..DeviceTraits::CPU_ADAPTER
    }
}

/// (hoisted, packings of updated weights) after checking that exactly the
/// weight packings of weights no node updates are hoisted, and that the
/// texel arrays they write belong to no other dispatch's scratch.
fn check_hoisting(g: &Graph, keep: &[TensorId]) -> (usize, usize) {
    let rec = Recording::of(g, &lavapipe(), keep);
    let p = plan(g, &rec, keep);
    let updated: HashSet<TensorId> = g
        .nodes
        .iter()
        .flat_map(|n| n.op.written_inputs().iter().map(|&k| n.inputs[k]))
        .collect();
    let (mut hoisted, mut repacked) = (0, 0);
    let mut owned: HashMap<usize, (usize, usize)> = HashMap::new();
    for (i, (node, lowered)) in g.nodes.iter().zip(&rec.nodes).enumerate() {
        for (j, d) in lowered.dispatches.iter().enumerate() {
            let is_hoisted = p.hoisted[i][j];
            if d.kernel == Shader::WeightTexels.kernel() {
                let Binding::Input(k) = d.bindings[0] else {
                    panic!("weight packing of node {i} reads {:?}", d.bindings[0]);
                };
                let fixed = !updated.contains(&node.inputs[k]);
                assert_eq!(is_hoisted, fixed, "node {i} dispatch {j}");
                repacked += usize::from(!fixed);
            } else {
                assert!(!is_hoisted, "node {i} dispatch {j}: {:?} hoisted", d.kernel);
            }
            if is_hoisted {
                hoisted += 1;
                for b in &d.bindings {
                    if let Binding::ScratchTexels(k) = *b {
                        owned.insert(p.scratch_texel_arrays[i][k], (i, k));
                    }
                }
            }
        }
    }
    for (i, arrays) in p.scratch_texel_arrays.iter().enumerate() {
        for (k, a) in arrays.iter().enumerate() {
            if let Some(&owner) = owned.get(a) {
                assert_eq!(owner, (i, k), "texel array {a} of a hoisted packing reused");
            }
        }
    }
    (hoisted, repacked)
}

#[test]
fn weight_packing_is_hoisted_where_no_run_changes_the_weights() {
    // Training: VGG's weights are fixed, Adam updates the network's.
    let s = step(
        3,
        1.0 / 16.0,
        16,
        2,
        VggConfig {
            channels: [4, 6, 8],
        },
    );
    let keep: Vec<TensorId> = s.losses.to_array().to_vec();
    let (hoisted, repacked) = check_hoisting(&s.graph, &keep);
    assert!(
        hoisted >= 3 && repacked >= 3,
        "{hoisted} hoisted, {repacked} repacked"
    );
    // Inference: every packing is hoisted.
    let mut g = Graph::new();
    let image = g.input("image", &[1, 3, 32, 32]);
    let mask = g.input("mask", &[1, 1, 32, 32]);
    let config = UNetConfig {
        levels: 3,
        width: 1.0 / 16.0,
    };
    let net = UNet::declare(&mut g, config, Mode::Eval).unwrap();
    let out = net.forward(&mut g, image, mask, Mode::Eval).unwrap();
    let (hoisted, repacked) = check_hoisting(&g, &[out]);
    assert!(
        hoisted >= 3 && repacked == 0,
        "{hoisted} hoisted, {repacked} repacked"
    );
}

/// Mixed precision's f16 storage (`graph::storage`) on the face model's
/// training step (L6 w0.5 128², batch 32, VGG-16 loss; graph and plan
/// only): every f16 tensor is an intermediate the host does not read, and
/// each node's variants agree with its tensors (a node reads f16 exactly
/// where its f16-capable inputs are stored so, and writes likewise), so
/// no kernel meets a format it does not expect. Most activation values
/// become f16 and the planned memory falls by a third or more; f32 runs,
/// and mixed runs with `half_storage` off, store nothing as f16.
#[test]
fn f16_storage_is_consistent_and_shrinks_the_face_step() {
    let s = step(6, 0.5, 128, 32, VggConfig::VGG16);
    let g = &s.graph;
    let keep: Vec<TensorId> = s.losses.to_array().to_vec();
    let mixed = DeviceTraits {
        mixed: MixedKernels::Coop,
        half_storage: true,
        ..DeviceTraits::GPU
    };
    let off = [
        DeviceTraits {
            half_storage: false,
            ..mixed
        },
        DeviceTraits {
            mixed: MixedKernels::Off,
            ..mixed
        },
    ];
    let mut planned = Vec::new();
    for traits in [mixed, off[0], off[1]] {
        let rec = Recording::of(g, &traits, &keep);
        planned.push(check_no_overlap(g, &rec, &keep).0);
        let f16 = |t: TensorId| rec.storage.tensors[t.index()] == Storage::F16;
        if traits.half_storage && traits.mixed != MixedKernels::Off {
            for (n, half) in g.nodes.iter().zip(&rec.storage.nodes) {
                let shapes: Vec<&[usize]> = n.inputs.iter().map(|&t| g.shape(t)).collect();
                let (ins, outs) = n.op.half_io(&shapes, &traits);
                for (k, &t) in n.inputs.iter().enumerate() {
                    let want = ins.contains(&k) && half.input;
                    assert_eq!(f16(t), want, "{} input {k}", n.op.name());
                }
                for (k, &t) in n.outputs.iter().enumerate() {
                    let want = outs.contains(&k) && half.output;
                    assert_eq!(f16(t), want, "{} output {k}", n.op.name());
                }
            }
            for (t, info) in g.tensors.iter().enumerate() {
                if f16(TensorId(t as u32)) {
                    assert!(!info.is_persistent() && !keep.contains(&TensorId(t as u32)));
                }
            }
            let values: usize = g
                .tensors
                .iter()
                .filter(|t| !t.is_persistent())
                .map(|t| t.numel())
                .sum();
            let share = rec.storage.f16_values(g) as f64 / values as f64;
            eprintln!("f16 share of the activation values: {share:.3}");
            assert!(share > 0.8, "f16 share of the activation values {share:.2}");
        } else {
            assert_eq!(rec.storage.f16_values(g), 0);
            assert!(rec.storage.nodes.iter().all(|h| !h.input && !h.output));
        }
    }
    eprintln!(
        "face step planned memory in mixed precision: f16 storage {:.0} MiB, f32 storage {:.0} MiB",
        planned[0] as f64 / (1 << 20) as f64,
        planned[1] as f64 / (1 << 20) as f64
    );
    assert!(planned[0] * 3 < planned[1] * 2, "{planned:?}");
}

/// Islands: a run of f16-capable kernels stores what passes between them
/// as f16; its first kernel reads f32 (a graph input), its last writes f32
/// (a tensor the host reads), and a reader without an f16 variant (a
/// per-channel sum) keeps its operand f32, so the kernel writing it writes
/// f32.
#[test]
fn f16_islands_end_at_inputs_kept_tensors_and_f32_readers() {
    let mut g = Graph::new();
    let x = g.input("x", &[1, 4, 6, 6]);
    let relu = Op::Nn(NnOp::Activation { slope: 0.0 });
    let a = g.push(relu.clone(), &[x]).unwrap()[0];
    let b = g.push(relu.clone(), &[a]).unwrap()[0];
    let c = g.push(relu.clone(), &[b]).unwrap()[0];
    let d = g.push(relu.clone(), &[a]).unwrap()[0];
    let sum = g
        .push(Op::Nn(NnOp::ChannelSum { masked: false }), &[d])
        .unwrap()[0];
    let traits = DeviceTraits {
        mixed: MixedKernels::Twin,
        half_storage: true,
        ..DeviceTraits::GPU
    };
    let rec = Recording::of(&g, &traits, &[c, sum]);
    let kinds: Vec<Storage> = [x, a, b, c, d, sum]
        .iter()
        .map(|t| rec.storage.tensors[t.index()])
        .collect();
    use Storage::{F16, F32};
    assert_eq!(kinds, [F32, F16, F16, F32, F32, F32]);
    let variants: Vec<(bool, bool)> = rec
        .storage
        .nodes
        .iter()
        .map(|h| (h.input, h.output))
        .collect();
    assert_eq!(
        variants,
        [
            (false, true),
            (true, true),
            (true, false),
            (true, false),
            (false, false)
        ]
    );
    // The kernels built: relu+half_out, relu+half_in+half_out, ...
    let names: Vec<String> = rec.nodes[..4]
        .iter()
        .map(|l| l.dispatches[0].kernel.name())
        .collect();
    assert!(
        names[0].ends_with("+half_out") && names[1].ends_with("+half_in+half_out"),
        "{names:?}"
    );
    assert!(
        names[2].ends_with("+half_in") && names[3].ends_with("+half_in"),
        "{names:?}"
    );
}
