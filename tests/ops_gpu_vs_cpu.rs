//! Every op, forward and backward, on the GPU against its CPU twin (f64),
//! and every backward against central finite differences of the CPU
//! forward. Shapes are small and odd: odd H/W, stride 2, padding, more
//! channels than one 64-wide GEMM tile, holes at borders, 0 % and 100 %
//! holes, batch > 1.
mod common;

use common::{assert_close, gpu, kernel, to_f32, Rng};
use pconv::gpu::Executor;
use pconv::graph::autodiff::backward_from;
use pconv::graph::cpu::CpuExecutor;
use pconv::graph::{Graph, TensorId};
use pconv::kernels::Kernel;
use pconv::kernels::{DeviceTraits, HalfStorage};
use pconv::ops::{ConvOp, L1Weight, LossOp, NnOp, Op, OptimOp};

/// One operand of the op under test.
struct Operand {
    shape: Vec<usize>,
    values: Vec<f64>,
    /// Receives a gradient (a trainable parameter in the test graph).
    grad: bool,
}

fn data(shape: &[usize], values: Vec<f64>) -> Operand {
    Operand {
        shape: shape.to_vec(),
        values,
        grad: false,
    }
}

fn var(shape: &[usize], values: Vec<f64>) -> Operand {
    Operand {
        shape: shape.to_vec(),
        values,
        grad: true,
    }
}

/// Builds [op] + its backward from a random upstream gradient of output 0;
/// checks the CPU gradients against finite differences and the GPU against
/// the CPU for every output and gradient.
fn check(name: &str, op: Op, operands: Vec<Operand>, tol: f64, rng: &mut Rng) {
    let mut g = Graph::new();
    let ins: Vec<TensorId> = operands
        .iter()
        .enumerate()
        .map(|(i, o)| {
            if o.grad {
                g.param(&format!("in{i}"), &o.shape, true)
            } else {
                g.input(&format!("in{i}"), &o.shape)
            }
        })
        .collect();
    let outs = g
        .push(op.clone(), &ins)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut seeds = Vec::new();
    let mut seed_values = Vec::new();
    let differentiable = operands.iter().any(|o| o.grad);
    if differentiable {
        let out_shape = g.shape(outs[0]).to_vec();
        let s = g.input("seed", &out_shape);
        seed_values = rng.values(g.info(s).numel());
        seeds.push((outs[0], s));
    }
    let grads = backward_from(&mut g, &seeds, &mut |_, _, _| Ok(())).unwrap();
    let grad_of: Vec<Option<TensorId>> = ins
        .iter()
        .zip(&operands)
        .map(|(&t, o)| {
            if o.grad {
                Some(grads.get(t).expect("gradient"))
            } else {
                None
            }
        })
        .collect();

    // CPU run.
    let set_all = |cpu: &mut CpuExecutor, vals: &[Vec<f64>]| {
        for (t, v) in ins.iter().zip(vals) {
            cpu.set(*t, v).unwrap();
        }
        if let Some(&(_, s)) = seeds.first() {
            cpu.set(s, &seed_values).unwrap();
        }
    };
    let base: Vec<Vec<f64>> = operands.iter().map(|o| o.values.clone()).collect();
    let mut cpu = CpuExecutor::new(&g);
    set_all(&mut cpu, &base);
    cpu.run(&g);

    // Finite differences of phi(x) = <seed, output0(x)> on the CPU twin.
    if differentiable {
        let phi = |vals: &[Vec<f64>]| {
            let mut c = CpuExecutor::new(&g);
            set_all(&mut c, vals);
            c.run(&g);
            c.get(outs[0])
                .iter()
                .zip(&seed_values)
                .map(|(a, b)| a * b)
                .sum::<f64>()
        };
        for (i, o) in operands.iter().enumerate() {
            let Some(gt) = grad_of[i] else { continue };
            let analytic = cpu.get(gt).to_vec();
            let n = o.values.len();
            for k in 0..n.min(12) {
                let at = if n <= 12 {
                    k
                } else {
                    (rng.uniform() * n as f64) as usize
                };
                let eps = 1e-6;
                let mut plus = base.clone();
                plus[i][at] += eps;
                let mut minus = base.clone();
                minus[i][at] -= eps;
                let fd = (phi(&plus) - phi(&minus)) / (2.0 * eps);
                assert!(
                    (fd - analytic[at]).abs() <= 1e-5 * (1.0 + fd.abs()),
                    "{name}: d/d in{i}[{at}]: finite difference {fd} vs backward {}",
                    analytic[at]
                );
            }
        }
    }

    // GPU run against the CPU.
    let Some(ctx) = gpu() else { return };
    let mut keep: Vec<TensorId> = outs.clone();
    keep.extend(grad_of.iter().flatten());
    // The device's kernel choice, the portable fallbacks where it differs,
    // and the other adapter type's launch shapes (split-K reductions differ).
    let mut variants = vec![ctx.traits()];
    if ctx.traits().subgroups_8_to_64 {
        variants.push(DeviceTraits {
            subgroups_8_to_64: false,
            ..ctx.traits()
        });
    }
    if ctx.traits().texel_rows > 0 {
        // The row kernels on buffers, as where textures are too small.
        variants.push(DeviceTraits {
            texel_rows: 0,
            ..ctx.traits()
        });
    }
    // The other kind of adapter's lowering, on this device.
    let other = if ctx.is_cpu() {
        DeviceTraits::GPU
    } else {
        DeviceTraits::CPU_ADAPTER
    };
    variants.push(DeviceTraits {
        parallel_workgroups: other.parallel_workgroups,
        workgroup_gemm: other.workgroup_gemm,
        ..ctx.traits()
    });
    for traits in variants {
        let name = format!(
            "{name} (subgroups {}, {} workgroups, tiled GEMM {}, texel rows {})",
            traits.subgroups_8_to_64,
            traits.parallel_workgroups,
            traits.workgroup_gemm,
            traits.texel_rows
        );
        let exec = Executor::with_traits(&ctx, &g, &keep, &traits)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (t, v) in ins.iter().zip(&base) {
            exec.write(*t, &to_f32(v)).unwrap();
        }
        if let Some(&(_, s)) = seeds.first() {
            exec.write(s, &to_f32(&seed_values)).unwrap();
        }
        exec.run();
        exec.wait().unwrap();
        let errors = ctx.take_errors();
        assert!(errors.is_empty(), "{name}: GPU errors {errors:?}");
        for (k, &t) in outs.iter().enumerate() {
            assert_close(
                &format!("{name} output {k}"),
                &exec.read(t).unwrap(),
                cpu.get(t),
                tol,
            );
        }
        for (i, gt) in grad_of.iter().enumerate() {
            if let Some(gt) = *gt {
                assert_close(
                    &format!("{name} grad of in{i}"),
                    &exec.read(gt).unwrap(),
                    cpu.get(gt),
                    tol,
                );
            }
        }
        for &op_in in op.written_inputs() {
            let t = ins[op_in];
            assert_close(
                &format!("{name} in-place in{op_in}"),
                &exec.read(t).unwrap(),
                cpu.get(t),
                tol,
            );
        }
    }
}

/// f32 GEMM sums of up to a few thousand terms of mixed sign.
const GEMM_TOL: f64 = 2e-5;
const EW_TOL: f64 = 2e-6;

#[test]
fn conv2d_all_passes() {
    let mut rng = Rng::new(1);
    // (n, c_in, h, w, c_out, k, stride, pad, bias)
    let cases = [
        (2, 3, 11, 9, 5, 3, 1, 1, true),
        (1, 7, 13, 10, 70, 5, 2, 2, false),
        (3, 4, 9, 8, 3, 7, 2, 3, true),
        (1, 67, 9, 65, 6, 3, 1, 1, false),
        (2, 5, 6, 7, 4, 1, 1, 0, true),
        (1, 2, 5, 5, 2, 3, 2, 0, false),
        (2, 3, 7, 1, 9, 3, 2, 1, true),
        (1, 9, 17, 19, 17, 5, 2, 2, false),
        // Stride 1 off the row kernel: backward-data as a forward
        // convolution with flipped weights and padding k - 1 - pad.
        (1, 4, 9, 11, 6, 3, 1, 0, false),
        (2, 3, 10, 13, 5, 5, 1, 2, true),
        // Maps of 64 pixel groups or more: tiles along the workgroup (fewer
        // run `flat`, a lane per channel group and tile).
        (2, 3, 48, 46, 11, 5, 2, 2, true),
        // 8 pixel groups: flat with subgroups where they are runs of 8 lanes.
        (2, 6, 16, 16, 20, 5, 2, 2, true),
        // 3x3 stride 1: the row kernel (partial channel groups, more tiles
        // than a workgroup, odd heights; any width, the last tile of a row
        // partly stored).
        (2, 3, 5, 8, 5, 3, 1, 1, true),
        (1, 13, 7, 16, 19, 3, 1, 1, false),
        (1, 2, 33, 24, 9, 3, 1, 1, true),
        // Few tiles, many channel groups: `flat` over several workgroups.
        (1, 3, 8, 16, 150, 3, 1, 1, false),
        // Small maps with many input channels: the generic kernel splits
        // the sum over input channels (bias once, batches, a short last
        // chunk), also in backward-data.
        (2, 48, 5, 6, 20, 3, 1, 1, true),
        (3, 33, 7, 5, 9, 3, 2, 1, true),
        // The same for the row kernels: 3x3 on an 8x8 map (a short last
        // chunk), stride 2 onto 8x8 and 5x5 stride 2, with batches.
        (2, 70, 8, 8, 20, 3, 1, 1, true),
        (1, 37, 16, 16, 9, 3, 2, 1, true),
        (2, 35, 16, 16, 17, 5, 2, 2, false),
        // The deepest maps, narrower than a tile: 4x4, 2x2 and 1x1 outputs.
        (1, 40, 4, 4, 24, 3, 1, 1, true),
        (2, 20, 4, 3, 9, 3, 2, 1, false),
        (1, 3, 1, 1, 5, 3, 1, 1, true),
        // A padded input over two texel rows (4,488 texels).
        (1, 4, 64, 64, 8, 3, 1, 1, false),
        // Stride 2, 3x3 and 5x5: the stride-2 row kernel (odd input sides,
        // partial channel groups; 130 tiles run along the workgroup).
        (1, 3, 129, 32, 9, 3, 2, 1, false),
        (2, 7, 9, 15, 33, 3, 2, 1, true),
        (1, 4, 15, 31, 17, 5, 2, 2, true),
        (1, 2, 64, 48, 5, 5, 2, 2, false),
    ];
    for (n, ci, h, w, co, k, stride, pad, bias) in cases {
        let mut ops = vec![
            var(&[n, ci, h, w], rng.values(n * ci * h * w)),
            var(&[co, ci, k, k], rng.values(co * ci * k * k)),
        ];
        if bias {
            ops.push(var(&[co], rng.values(co)));
        }
        let name = format!("conv2d n{n} {ci}->{co} {h}x{w} k{k} s{stride} p{pad} bias {bias}");
        check(
            &name,
            Op::Conv(ConvOp::Conv2d { stride, pad, bias }),
            ops,
            GEMM_TOL,
            &mut rng,
        );
    }
}

/// The kernel a forward convolution runs on (the last dispatch; padding
/// comes first).
fn forward_kernel(x: &[usize], w: &[usize], stride: usize, pad: usize) -> Kernel {
    let y = [
        x[0],
        w[0],
        (x[2] + 2 * pad - w[2]) / stride + 1,
        (x[3] + 2 * pad - w[3]) / stride + 1,
    ];
    let op = Op::Conv(ConvOp::Conv2d {
        stride,
        pad,
        bias: false,
    });
    let dev = DeviceTraits::CPU_ADAPTER;
    op.lower(&[x, w], &[&y], &dev, HalfStorage::NONE)
        .dispatches
        .last()
        .unwrap()
        .kernel
}

#[test]
fn stride_2_convolutions_take_the_row_kernels_where_they_apply() {
    let s2 = |x: [usize; 4], k: usize, pad: usize| forward_kernel(&x, &[4, x[1], k, k], 2, pad);
    // The cases of conv2d_all_passes that it must compute.
    assert_eq!(s2([1, 3, 129, 32], 3, 1), kernel("conv2d_fwd_s2"));
    assert_eq!(s2([2, 7, 9, 15], 3, 1), kernel("conv2d_fwd_s2+flat"));
    assert_eq!(s2([1, 4, 15, 31], 5, 2), kernel("conv2d_fwd_s2+k5+flat"));
    assert_eq!(s2([2, 6, 16, 16], 5, 2), kernel("conv2d_fwd_s2+k5+flat"));
    // Any output width: a row's last tile computes past it, unstored (23
    // and 4 columns; the deep layers' 4x4 and 2x2 maps).
    assert_eq!(s2([2, 3, 48, 46], 5, 2), kernel("conv2d_fwd_s2+k5"));
    assert_eq!(s2([1, 8, 8, 8], 3, 1), kernel("conv2d_fwd_s2+flat"));
    let s1 = |x: [usize; 4]| forward_kernel(&x, &[4, x[1], 3, 3], 1, 1);
    assert_eq!(s1([1, 8, 2, 2]), kernel("conv2d_fwd_3x3+flat"));
    assert_eq!(s1([1, 8, 40, 9]), kernel("conv2d_fwd_3x3"));
    // 7x7, no padding: the generic kernel.
    assert_eq!(s2([3, 4, 9, 8], 7, 3), kernel("conv2d_fwd+flat"));
    assert_eq!(s2([1, 2, 5, 16], 3, 0), kernel("conv2d_fwd+flat"));
    // Backward-data: the stride-2 row kernel for 3x3 and 5x5 with "same"
    // padding, whatever the width (its padded copy of gy is wide enough).
    let bwd = |gx: [usize; 4], k: usize, pad: usize| {
        let w = [4, gx[1], k, k];
        let gy = [
            gx[0],
            4,
            (gx[2] + 2 * pad - k) / 2 + 1,
            (gx[3] + 2 * pad - k) / 2 + 1,
        ];
        let op = Op::Conv(ConvOp::Conv2dBwdData {
            stride: 2,
            pad,
            h: gx[2],
            w: gx[3],
        });
        let dev = DeviceTraits::CPU_ADAPTER;
        let lowered = op.lower(&[&gy, &w], &[&gx], &dev, HalfStorage::NONE);
        lowered.dispatches.last().unwrap().kernel
    };
    assert_eq!(bwd([1, 3, 129, 32], 3, 1), kernel("conv2d_bwd_data_s2"));
    assert_eq!(
        bwd([1, 7, 13, 10], 5, 2),
        kernel("conv2d_bwd_data_s2+k5+flat")
    );
    assert_eq!(bwd([2, 3, 7, 1], 3, 1), kernel("conv2d_bwd_data_s2+flat"));
    assert_eq!(bwd([3, 4, 9, 8], 7, 3), kernel("conv2d_bwd_data"));
    assert_eq!(bwd([1, 2, 5, 5], 3, 0), kernel("conv2d_bwd_data"));
    // Backward-weight: the 3x3 row kernel on the stride-1 row kernel's layers.
    let weight_kernels = |x: [usize; 4], gy: [usize; 4], k: usize, stride: usize, pad: usize| {
        let op = Op::Conv(ConvOp::Conv2dBwdWeight { stride, pad, k });
        let dev = DeviceTraits::CPU_ADAPTER;
        let w = [gy[1], x[1], k, k];
        let lowered = op.lower(&[&gy, &x], &[&w], &dev, HalfStorage::NONE);
        lowered
            .dispatches
            .iter()
            .map(|d| d.kernel)
            .collect::<Vec<_>>()
    };
    assert!(weight_kernels([2, 13, 7, 16], [2, 19, 7, 16], 3, 1, 1)
        .contains(&kernel("conv2d_bwd_weight_3x3")));
    assert!(weight_kernels([2, 3, 11, 9], [2, 5, 11, 9], 3, 1, 1)
        .contains(&kernel("conv2d_bwd_weight")));
    assert!(weight_kernels([1, 7, 13, 10], [1, 4, 7, 5], 5, 2, 2)
        .contains(&kernel("conv2d_bwd_weight")));
    // Stride 2 where the forward row kernel's rows fit: its backward-weight twin.
    assert!(weight_kernels([1, 3, 129, 32], [1, 9, 65, 16], 3, 2, 1)
        .contains(&kernel("conv2d_bwd_weight_s2")));
    assert!(weight_kernels([1, 4, 15, 31], [1, 17, 8, 16], 5, 2, 2)
        .contains(&kernel("conv2d_bwd_weight_s2+k5")));
    assert!(
        weight_kernels([1, 2, 5, 16], [1, 4, 2, 7], 3, 2, 0).contains(&kernel("conv2d_bwd_weight"))
    );
}

#[test]
fn small_deep_maps_split_the_row_kernels_over_input_channels() {
    let plan = |x: [usize; 4], co: usize, stride: usize| {
        let k = 3;
        let y = [x[0], co, x[2] / stride, x[3] / stride];
        let op = Op::Conv(ConvOp::Conv2d {
            stride,
            pad: 1,
            bias: true,
        });
        let dev = DeviceTraits::GPU;
        let w = [co, x[1], k, k];
        let lowered = op.lower(&[&x, &w, &[co]], &[&y], &dev, HalfStorage::NONE);
        lowered
            .dispatches
            .iter()
            .map(|d| (d.kernel, d.workgroups[2] as usize, d.params.clone()))
            .collect::<Vec<_>>()
    };
    // The decoder's 8x8 layer (1024 -> 512 channels, one image): 4
    // workgroups alone, so 64 splits of 16 channels (the most), summed after.
    let decoder = plan([1, 1024, 8, 8], 512, 1);
    let kinds: Vec<Kernel> = decoder.iter().map(|d| d.0).collect();
    assert_eq!(
        kinds,
        [
            kernel("pad2d+vec4"),
            kernel("conv2d_fwd_3x3+flat"),
            kernel("sum_splits")
        ]
    );
    let (_, z, params) = &decoder[1];
    assert_eq!((*z, params[7], params[8]), (64, 16, 1));
    // The encoder's stride-2 layer onto 16x16 (512 channels): 32 workgroups,
    // so 32 splits of 16 channels.
    let encoder = plan([1, 512, 32, 32], 512, 2);
    assert_eq!(encoder.last().unwrap().0, kernel("sum_splits"));
    assert_eq!((encoder[1].1, encoder[1].2[7]), (32, 16));
    // A training batch of large maps fills the device unsplit.
    let batch = plan([32, 64, 128, 128], 64, 1);
    assert_eq!(
        batch.iter().map(|d| d.0).collect::<Vec<_>>(),
        [kernel("pad2d+vec4"), kernel("conv2d_fwd_3x3")]
    );
    assert_eq!((batch[1].1, batch[1].2[7], batch[1].2[8]), (32, 64, 32));
}

#[test]
fn row_kernels_read_texel_arrays_where_the_device_has_them() {
    let kernels = |op: Op, ins: [&[usize]; 2], out: &[usize], texel_rows: u32| {
        let dev = DeviceTraits {
            subgroups_8_to_64: true,
            flat_subgroup_size: 8,
            texel_rows,
            ..DeviceTraits::CPU_ADAPTER
        };
        op.lower(&ins, &[out], &dev, HalfStorage::NONE)
            .dispatches
            .iter()
            .map(|d| d.kernel)
            .collect::<Vec<_>>()
    };
    let fwd = Op::Conv(ConvOp::Conv2d {
        stride: 1,
        pad: 1,
        bias: false,
    });
    let (x, w, y) = ([1, 16, 32, 64], [8, 16, 3, 3], [1, 8, 32, 64]);
    // The padded input (16 x 34 x 68 floats = 9,248 texels) and the packed
    // weights in texel arrays, where they fit.
    assert_eq!(
        kernels(fwd.clone(), [&x, &w], &y, 16384),
        [
            kernel("pad2d+texels+vec4"),
            kernel("weight_texels"),
            kernel("conv2d_fwd_3x3+subgroup+texels")
        ]
    );
    // Three rows of 4,096 texels hold it, two do not: buffers then.
    assert_eq!(
        kernels(fwd.clone(), [&x, &w], &y, 3).last(),
        Some(&kernel("conv2d_fwd_3x3+subgroup+texels"))
    );
    assert_eq!(
        kernels(fwd.clone(), [&x, &w], &y, 2),
        [kernel("pad2d+vec4"), kernel("conv2d_fwd_3x3+subgroup")]
    );
    // Small maps whose tiles the subgroups divide: flat, still on texels.
    let (xs, ys) = ([1, 16, 8, 16], [1, 8, 8, 16]);
    assert_eq!(
        kernels(fwd, [&xs, &w], &ys, 16384).last(),
        Some(&kernel("conv2d_fwd_3x3+flat+subgroup+texels"))
    );
    // Stride-1 backward-data: the weights packed flipped instead of WeightFlip.
    let bwd = Op::Conv(ConvOp::Conv2dBwdData {
        stride: 1,
        pad: 1,
        h: 32,
        w: 64,
    });
    assert_eq!(
        kernels(bwd.clone(), [&y, &w], &x, 16384),
        [
            kernel("pad2d+texels+vec4"),
            kernel("weight_texels"),
            kernel("conv2d_fwd_3x3+subgroup+texels")
        ]
    );
    assert_eq!(
        kernels(bwd, [&y, &w], &x, 0),
        [
            kernel("pad2d+vec4"),
            kernel("weight_flip"),
            kernel("conv2d_fwd_3x3+subgroup")
        ]
    );
    // Stride 2: the stride-2 row kernels' texel twins.
    let s2 = Op::Conv(ConvOp::Conv2d {
        stride: 2,
        pad: 2,
        bias: false,
    });
    assert_eq!(
        kernels(
            s2,
            [&[1, 4, 128, 128], &[8, 4, 5, 5]],
            &[1, 8, 64, 64],
            16384
        )
        .last(),
        Some(&kernel("conv2d_fwd_s2+k5+subgroup+texels"))
    );
    // Stride-2 backward-data: padded gy and the weights packed transposed.
    let bwd_s2 = Op::Conv(ConvOp::Conv2dBwdData {
        stride: 2,
        pad: 2,
        h: 128,
        w: 128,
    });
    assert_eq!(
        kernels(
            bwd_s2,
            [&[1, 8, 64, 64], &[8, 4, 5, 5]],
            &[1, 4, 128, 128],
            16384
        ),
        [
            kernel("pad2d+texels+vec4"),
            kernel("weight_texels"),
            kernel("conv2d_bwd_data_s2+k5+subgroup+texels")
        ]
    );
    // A small map (4 tiles a phase, rounded up to a subgroup's 8 lanes):
    // flat, still on subgroups and texel arrays.
    let bwd_s2_small = Op::Conv(ConvOp::Conv2dBwdData {
        stride: 2,
        pad: 2,
        h: 8,
        w: 8,
    });
    assert_eq!(
        kernels(
            bwd_s2_small,
            [&[1, 8, 4, 4], &[8, 4, 5, 5]],
            &[1, 4, 8, 8],
            16384
        )
        .last(),
        Some(&kernel("conv2d_bwd_data_s2+k5+flat+subgroup+texels"))
    );
    // Backward-weight: gy and the padded input as texel arrays.
    let bw = |stride: usize, k: usize, gy: &[usize], x: &[usize]| {
        let op = Op::Conv(ConvOp::Conv2dBwdWeight {
            stride,
            pad: k / 2,
            k,
        });
        kernels(op, [gy, x], &[gy[1], x[1], k, k], 16384)
    };
    // (Then the split-K sums.)
    assert_eq!(
        bw(1, 3, &y, &x)[..3],
        [
            kernel("pad2d+texels+vec4"),
            kernel("pad2d+texels+vec4"),
            kernel("conv2d_bwd_weight_3x3+subgroup+texels")
        ]
    );
    assert!(bw(2, 5, &[1, 8, 64, 64], &[1, 4, 128, 128])
        .contains(&kernel("conv2d_bwd_weight_s2+k5+subgroup+texels")));
}

#[test]
fn conv2d_weight_gradient_with_split_k() {
    // Long reduction (n * Ho * Wo = 2 * 48 * 48) so backward-weight splits K.
    let mut rng = Rng::new(2);
    let (n, ci, h, w, co, k) = (2, 3, 48, 48, 5, 3);
    let ops = vec![
        var(&[n, ci, h, w], rng.values(n * ci * h * w)),
        var(&[co, ci, k, k], rng.values(co * ci * k * k)),
    ];
    check(
        "conv2d split-K",
        Op::Conv(ConvOp::Conv2d {
            stride: 1,
            pad: 1,
            bias: false,
        }),
        ops,
        GEMM_TOL,
        &mut rng,
    );
}

#[test]
fn long_reductions_are_not_cut_short() {
    // lavapipe ends an invocation's loops after 65535 iterations in all;
    // a weight gradient over 1100 rows of 1024 columns, or a Gram matrix over
    // 16512 positions, must still sum everything.
    let mut rng = Rng::new(21);
    let (n, ci, h, w, co) = (1, 1, 1100, 1024, 1);
    check(
        "conv2d long weight-gradient reduction",
        Op::Conv(ConvOp::Conv2d {
            stride: 1,
            pad: 1,
            bias: false,
        }),
        vec![
            var(&[n, ci, h, w], rng.values(n * ci * h * w)),
            var(&[co, ci, 3, 3], rng.values(co * ci * 9)),
        ],
        1e-4,
        &mut rng,
    );
    check(
        "gram over 128x129 positions",
        Op::Loss(LossOp::Gram),
        vec![var(&[1, 9, 128, 129], rng.values(9 * 128 * 129))],
        GEMM_TOL,
        &mut rng,
    );
}

#[test]
fn pconv_mask_single_and_concatenated() {
    let mut rng = Rng::new(3);
    for (ratio, k, stride, pad, count_b) in [
        (0.3, 3, 1, 1, 0),
        (0.5, 7, 2, 3, 0),
        (0.0, 5, 2, 2, 0),
        (1.0, 3, 1, 1, 4),
        (0.4, 3, 1, 1, 5),
    ] {
        let (n, h, w) = (2, 13, 11);
        let mut ops = vec![data(&[n, 1, h, w], rng.mask(n, h, w, ratio))];
        if count_b > 0 {
            ops.push(data(&[n, 1, h, w], rng.mask(n, h, w, 0.3)));
        }
        let op = Op::Conv(ConvOp::PConvMask {
            k,
            stride,
            pad,
            count_a: 3,
            count_b,
        });
        check(
            &format!("pconv_mask holes {ratio} k{k} s{stride} b{count_b}"),
            op,
            ops,
            1e-6,
            &mut rng,
        );
    }
}

#[test]
fn channel_scale_and_sum() {
    let mut rng = Rng::new(4);
    let (n, c, h) = (2, 5, 7);
    // Widths 9 (the scalar kernel) and 8 (planes of whole vec4s).
    for (invert, bias, ratio, w) in [
        (false, false, 0.3, 9),
        (true, false, 0.5, 9),
        (false, true, 0.0, 9),
        (false, true, 1.0, 9),
        (false, false, 0.3, 8),
        (true, false, 0.5, 8),
        (false, true, 0.4, 8),
    ] {
        let mut s = rng.mask(n, h, w, ratio);
        if bias {
            // a pconv ratio: positive where valid, 0 in holes
            s.iter_mut().for_each(|v| *v *= 1.0 + rng.uniform());
        }
        let mut ops = vec![
            var(&[n, c, h, w], rng.values(n * c * h * w)),
            data(&[n, 1, h, w], s),
        ];
        if bias {
            ops.push(var(&[c], rng.values(c)));
        }
        check(
            &format!("channel_scale invert {invert} bias {bias} holes {ratio} width {w}"),
            Op::Nn(NnOp::ChannelScale { invert, bias }),
            ops,
            EW_TOL,
            &mut rng,
        );
    }
}

#[test]
fn batch_norm_train_and_eval() {
    let mut rng = Rng::new(5);
    // Up to 256 values per channel: an invocation per channel (70 channels:
    // two workgroups of them); more: a workgroup per channel. Planes of
    // whole vec4s (4x5, 17x16) take the vec4 apply and backward kernels.
    for (train, (n, c, h, w)) in [
        (true, (3, 4, 5, 7)),
        (false, (2, 3, 3, 3)),
        (true, (1, 70, 3, 1)),
        (true, (2, 3, 11, 13)),
        (false, (1, 2, 17, 16)),
        (true, (2, 3, 4, 5)),
    ] {
        let x: Vec<f64> = rng
            .values(n * c * h * w)
            .iter()
            .map(|v| v * 3.0 + 0.5)
            .collect();
        let gamma: Vec<f64> = rng.values(c).iter().map(|v| 1.0 + 0.5 * v).collect();
        let rv: Vec<f64> = rng.values(c).iter().map(|v| 1.0 + 0.5 * v).collect();
        let ops = vec![
            var(&[n, c, h, w], x),
            var(&[c], gamma),
            var(&[c], rng.values(c)),
            data(&[c], rng.values(c)),
            data(&[c], rv),
        ];
        check(
            &format!("batch_norm train {train} {n}x{c}x{h}x{w}"),
            Op::Nn(NnOp::BatchNorm {
                train,
                eps: 1e-5,
                momentum: 0.1,
            }),
            ops,
            2e-5,
            &mut rng,
        );
    }
}

#[test]
fn activations() {
    let mut rng = Rng::new(6);
    // 210 values: the scalar kernels; 240: the vec4 ones.
    for (slope, w) in [(0.0, 7), (0.2, 7), (0.2, 8)] {
        let ops = vec![var(&[2, 3, 5, w], rng.values(30 * w))];
        check(
            &format!("activation slope {slope} width {w}"),
            Op::Nn(NnOp::Activation { slope }),
            ops,
            EW_TOL,
            &mut rng,
        );
    }
}

#[test]
fn upsample_concat_slice_maxpool() {
    let mut rng = Rng::new(7);
    // Odd and even widths (the vec4 kernels), forward and backward.
    for w in [3, 4] {
        check(
            &format!("upsample2x width {w}"),
            Op::Nn(NnOp::Upsample2x),
            vec![var(&[2, 3, 5, w], rng.values(30 * w))],
            EW_TOL,
            &mut rng,
        );
    }
    // Planes of 15 values (scalar kernels) and of 12 (vec4 kernels), also
    // for the backward's channel slices.
    for (h, w) in [(5, 3), (3, 4)] {
        check(
            &format!("concat {h}x{w}"),
            Op::Nn(NnOp::Concat),
            vec![
                var(&[2, 3, h, w], rng.values(6 * h * w)),
                var(&[2, 4, h, w], rng.values(8 * h * w)),
            ],
            EW_TOL,
            &mut rng,
        );
    }
    for (h, w) in [(6, 8), (7, 9), (2, 3)] {
        let ops = vec![var(&[2, 3, h, w], rng.values(6 * h * w))];
        check(
            &format!("max_pool2 {h}x{w}"),
            Op::Nn(NnOp::MaxPool2),
            ops,
            EW_TOL,
            &mut rng,
        );
    }
}

/// Windows with tied maxima (values on a coarse grid): the gradient goes to
/// the first maximum in scan order on the scalar (7x9) and the vec4 (6x8)
/// kernels alike. The backward op alone, as ties have no finite difference.
#[test]
fn maxpool_backward_ties() {
    let mut rng = Rng::new(17);
    for (h, w) in [(6, 8), (7, 9)] {
        let x: Vec<f64> = (0..6 * h * w)
            .map(|_| (rng.values(1)[0] * 2.0).round())
            .collect();
        let g_len = 6 * (h / 2) * (w / 2);
        check(
            &format!("max_pool2 backward ties {h}x{w}"),
            Op::Nn(NnOp::MaxPool2Bwd),
            vec![
                data(&[2, 3, h, w], x),
                data(&[2, 3, h / 2, w / 2], rng.values(g_len)),
            ],
            EW_TOL,
            &mut rng,
        );
    }
}

#[test]
fn axpby_and_channel_affine() {
    let mut rng = Rng::new(8);
    // 75 and 7 values: the scalar kernel; 76 and 8: the vec4 one.
    for len in [75, 76] {
        let ops = vec![var(&[len], rng.values(len)), var(&[len], rng.values(len))];
        check(
            &format!("axpby {len}"),
            Op::Nn(NnOp::Axpby {
                alpha: 0.5,
                beta: -2.0,
            }),
            ops,
            EW_TOL,
            &mut rng,
        );
    }
    for len in [7, 8] {
        check(
            &format!("axpby scale {len}"),
            Op::Nn(NnOp::Axpby {
                alpha: 3.0,
                beta: 0.0,
            }),
            vec![var(&[len], rng.values(len))],
            EW_TOL,
            &mut rng,
        );
    }
    let op = Op::Nn(NnOp::ChannelAffine {
        scale: [255.0, 255.0, 255.0],
        shift: [-123.68, -116.779, -103.939],
    });
    check(
        "channel_affine",
        op,
        vec![var(&[2, 3, 4, 5], rng.values(120))],
        EW_TOL,
        &mut rng,
    );
}

#[test]
fn composite_and_l1() {
    let mut rng = Rng::new(9);
    // Planes of 35 values (the scalar L1 kernels) and of 20 (the vec4 ones).
    for ((n, c, h, w), ratio) in [(2, 3, 7, 5), (2, 3, 4, 5)]
        .into_iter()
        .flat_map(|s| [0.0, 0.4, 1.0].map(|r| (s, r)))
    {
        let len = n * c * h * w;
        let m = rng.mask(n, h, w, ratio);
        let ops = vec![
            var(&[n, c, h, w], rng.values(len)),
            data(&[n, c, h, w], rng.values(len)),
            data(&[n, 1, h, w], m.clone()),
        ];
        check(
            &format!("composite holes {ratio}"),
            Op::Loss(LossOp::Composite),
            ops,
            EW_TOL,
            &mut rng,
        );
        for weight in [L1Weight::None, L1Weight::Known, L1Weight::Hole] {
            let mut ops = vec![
                var(&[n, c, h, w], rng.values(len)),
                data(&[n, c, h, w], rng.values(len)),
            ];
            if weight != L1Weight::None {
                ops.push(data(&[n, 1, h, w], m.clone()));
            }
            check(
                &format!("l1 {weight:?} {h}x{w} holes {ratio}"),
                Op::Loss(LossOp::L1Mean { weight }),
                ops,
                1e-5,
                &mut rng,
            );
        }
    }
    // A long reduction: more elements than the first pass has invocations.
    let big = 3 * 200 * 130;
    let ops = vec![
        var(&[1, 3, 200, 130], rng.values(big)),
        data(&[1, 3, 200, 130], rng.values(big)),
    ];
    check(
        "l1 long",
        Op::Loss(LossOp::L1Mean {
            weight: L1Weight::None,
        }),
        ops,
        1e-5,
        &mut rng,
    );
}

#[test]
fn dilation_and_total_variation() {
    let mut rng = Rng::new(10);
    let (n, c, h, w) = (2, 3, 9, 11);
    for ratio in [0.0, 0.2, 1.0] {
        let m = rng.mask(n, h, w, ratio);
        check(
            &format!("dilate_holes {ratio}"),
            Op::Loss(LossOp::DilateHoles),
            vec![data(&[n, 1, h, w], m.clone())],
            0.0,
            &mut rng,
        );
        let region = pconv::ops::loss::dilate_holes_cpu(&m, &[n, 1, h, w]);
        let ops = vec![
            var(&[n, c, h, w], rng.values(n * c * h * w)),
            data(&[n, 1, h, w], region),
        ];
        check(
            &format!("tv holes {ratio}"),
            Op::Loss(LossOp::Tv),
            ops,
            1e-5,
            &mut rng,
        );
    }
}

#[test]
fn gram_matrices() {
    let mut rng = Rng::new(11);
    // The last one is split into several chunks per image on a GPU. With
    // texel arrays the backward stores vec4s where the positions are a
    // multiple of 4 (4x5: the last tile's second half lies past a row;
    // 4x8: it does not).
    for (n, c, h, w) in [
        (2, 5, 7, 3),
        (1, 70, 4, 5),
        (3, 10, 17, 19),
        (2, 131, 9, 7),
        (2, 9, 4, 8),
    ] {
        let ops = vec![var(&[n, c, h, w], rng.values(n * c * h * w))];
        check(
            &format!("gram {n}x{c}x{h}x{w}"),
            Op::Loss(LossOp::Gram),
            ops,
            GEMM_TOL,
            &mut rng,
        );
    }
}

#[test]
fn adam_step_matches_cpu() {
    let mut rng = Rng::new(12);
    // Whole vec4s (the vec4 kernel) and not (the scalar one).
    for len in [300, 301] {
        adam_case(len, &mut rng);
    }
}

fn adam_case(len: usize, rng: &mut Rng) {
    // A gradient scale of 1/3: the sum of three micro-batches' gradients.
    let step = pconv::ops::optim::adam_step_scalars(2e-4, 3, 1.0 / 3.0);
    let ops = vec![
        data(&[4], step.iter().map(|&v| v as f64).collect()),
        data(&[len], rng.values(len)),
        data(&[len], rng.values(len)),
        data(&[len], rng.values(len).iter().map(|v| v * 0.1).collect()),
        data(
            &[len],
            rng.values(len).iter().map(|v| v.abs() * 0.01).collect(),
        ),
    ];
    check(
        &format!("adam {len}"),
        Op::Optim(OptimOp::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            loss_scaled: false,
        }),
        ops,
        1e-6,
        rng,
    );
}

/// The weights' moving average, in place: the vec4 kernel and the scalar
/// one. Values in [-1, 1]: a decay-weighted sum of two f32 products is
/// within 3 f32 roundings (2^-24 each) of the f64 twin, far inside 1e-6.
#[test]
fn ema_matches_cpu() {
    let mut rng = Rng::new(13);
    for (len, decay) in [(300, 0.999f32), (301, 0.9)] {
        let ops = vec![data(&[len], rng.values(len)), data(&[len], rng.values(len))];
        check(
            &format!("ema {len}"),
            Op::Optim(OptimOp::Ema { decay }),
            ops,
            1e-6,
            &mut rng,
        );
    }
}

/// Gradient accumulation, in place: the first micro-batch's flag replaces
/// the accumulator (a stale NaN in it does not survive), later ones add;
/// vec4 and scalar kernels. One f32 addition: within 2^-24 relative of f64.
#[test]
fn accumulate_matches_cpu() {
    let mut rng = Rng::new(14);
    for (len, first) in [(300, 1.0), (301, 1.0), (300, 0.0), (301, 0.0)] {
        let mut acc = rng.values(len);
        if first != 0.0 {
            acc[7] = f64::NAN;
        }
        let ops = vec![
            data(&[1], vec![first]),
            data(&[len], rng.values(len)),
            data(&[len], acc),
        ];
        check(
            &format!("accumulate {len} first={first}"),
            Op::Optim(OptimOp::Accumulate { loss_scaled: false }),
            ops,
            1e-6,
            &mut rng,
        );
    }
}

/// Mixed-precision training's loss scaling. Adam on a scaled gradient
/// (divided by the scale, a power of 2, exactly) and, where the scaler
/// marks an overflow, no update at all; accumulation marking a non-finite
/// gradient (an infinity, a NaN) in the scaler and leaving a finite one
/// unmarked; the scale's update: halved after an overflow (not below 1),
/// doubled after the growth interval (not above 2^24), the seed following.
#[test]
fn loss_scaling_ops_match_cpu() {
    let mut rng = Rng::new(15);
    for (len, overflowed) in [(300, 0.0), (301, 1.0)] {
        let ops = vec![
            data(&[4], vec![1e-3, 0.1, 0.001, 0.5]),
            data(&[len], rng.values(len).iter().map(|v| v * 1024.0).collect()),
            data(&[len], rng.values(len)),
            data(&[len], rng.values(len).iter().map(|v| v * 0.1).collect()),
            data(
                &[len],
                rng.values(len).iter().map(|v| v.abs() * 0.01).collect(),
            ),
            data(&[4], vec![1024.0, overflowed, 3.0, 0.0]),
        ];
        check(
            &format!("adam loss-scaled {len} overflowed={overflowed}"),
            pconv::ops::optim::adam_op(true),
            ops,
            1e-6,
            &mut rng,
        );
    }
    for (len, bad) in [
        (300, None),
        (300, Some(f64::INFINITY)),
        (301, Some(f64::NAN)),
    ] {
        let mut grad = rng.values(len);
        if let Some(b) = bad {
            grad[len - 2] = b;
        }
        let ops = vec![
            data(&[1], vec![0.0]),
            data(&[len], grad),
            data(&[len], rng.values(len)),
            data(&[4], vec![1024.0, 0.0, 3.0, 0.0]),
        ];
        check(
            &format!("accumulate checked {len} {bad:?}"),
            Op::Optim(OptimOp::Accumulate { loss_scaled: true }),
            ops,
            1e-6,
            &mut rng,
        );
    }
    for scaler in [
        [1024.0, 1.0, 5.0, 2.0],
        [1.0, 1.0, 0.0, 0.0],
        [1024.0, 0.0, 5.0, 2.0],
        [1024.0, 0.0, 1999.0, 2.0],
        [16777216.0, 0.0, 1999.0, 0.0],
    ] {
        let ops = vec![data(&[4], scaler.to_vec()), data(&[1], vec![0.0])];
        check(
            &format!("loss scale {scaler:?}"),
            Op::Optim(OptimOp::LossScale {
                growth_interval: 2000,
            }),
            ops,
            0.0,
            &mut rng,
        );
    }
}

/// Inference's fused layer tail: its CPU twin equals the ops it replaces
/// (rescale with bias where the ratio is non-zero, BatchNorm with running
/// statistics, activation, new-mask multiply), and the GPU matches it; with
/// and without bias and BatchNorm, ReLU and leaky ReLU, 0 % to 100 % holes;
/// planes of 42 values (the scalar kernel) and of 24 (the vec4 one).
#[test]
fn pconv_epilogue_fuses_the_layer_tail() {
    let mut rng = Rng::new(11);
    let cases = [
        (false, true, 0.0f32, 0.3),
        (true, true, 0.2, 0.5),
        (true, false, 0.2, 0.0),
        (false, false, 0.0, 1.0),
    ];
    let shapes = [(2, 5, 7, 6), (2, 5, 4, 6)];
    for ((n, c, h, w), (bias, bn, slope, holes)) in shapes
        .into_iter()
        .flat_map(|s| cases.into_iter().map(move |case| (s, case)))
    {
        let known = rng.mask(n, h, w, holes);
        // pconv_mask gives a ratio >= 1 where the new mask is 1, else 0.
        let ratio: Vec<f64> = known
            .iter()
            .map(|&k| {
                if k != 0.0 {
                    (1.0 + rng.uniform()) as f32 as f64
                } else {
                    0.0
                }
            })
            .collect();
        let mut operands = vec![
            data(&[n, c, h, w], rng.values(n * c * h * w)),
            data(&[n, 1, h, w], ratio),
            data(&[n, 1, h, w], known),
        ];
        if bias {
            operands.push(data(&[c], rng.values(c)));
        }
        if bn {
            operands.push(data(&[c], rng.values(c)));
            operands.push(data(&[c], rng.values(c)));
            operands.push(data(&[c], rng.values(c)));
            let var = rng.values(c).iter().map(|v| v.abs() + 0.25).collect();
            operands.push(data(&[c], var));
        }
        // The composition on the CPU twins.
        let mut g = Graph::new();
        let ins: Vec<TensorId> = operands
            .iter()
            .enumerate()
            .map(|(i, o)| g.input(&format!("in{i}"), &o.shape))
            .collect();
        let b = bias.then(|| ins[3]);
        let mut y = g.channel_scale(ins[0], ins[1], false, b).unwrap();
        if bn {
            let k = 3 + bias as usize;
            y = g
                .batch_norm(y, ins[k], ins[k + 1], (ins[k + 2], ins[k + 3]), false)
                .unwrap();
        }
        y = g.leaky_relu(y, slope).unwrap();
        let composed = g.channel_scale(y, ins[2], false, None).unwrap();
        let bn_ins = bn.then(|| {
            let k = 3 + bias as usize;
            [ins[k], ins[k + 1], ins[k + 2], ins[k + 3]]
        });
        let fused = g
            .pconv_epilogue((ins[0], ins[1], ins[2]), b, bn_ins, slope)
            .unwrap();
        let mut cpu = CpuExecutor::new(&g);
        for (t, o) in ins.iter().zip(&operands) {
            cpu.set(*t, &o.values).unwrap();
        }
        cpu.run(&g);
        let name =
            format!("pconv_epilogue {h}x{w} bias {bias} bn {bn} slope {slope} holes {holes}");
        assert_close(&name, &to_f32(cpu.get(fused)), cpu.get(composed), 1e-6);
        let op = g.nodes.last().unwrap().op.clone();
        check(&name, op, operands, EW_TOL, &mut rng);
    }
}
