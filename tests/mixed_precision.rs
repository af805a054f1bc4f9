//! The mixed-precision kernels (f16 operands, f32 accumulation) against
//! the f64 CPU twins on f16-rounded operands, on odd shapes: the
//! plain-arithmetic twin on every adapter with f16 (lavapipe on CI), the
//! cooperative-matrix variant where the device has it (opened with
//! PCONV_PRECISION=mixed, as tools/device/check.sh runs this on NVIDIA
//! cards). With PCONV_REQUIRE_GPU=1 a missing f16 fails; with
//! PCONV_REQUIRE_COOP=1 missing cooperative matrices do.
mod common;

use common::Rng;
use pconv::gpu::direct::DirectRun;
use pconv::gpu::{Executor, GpuContext};
use pconv::graph::recording::Recording;
use pconv::kernels::{Defines, DeviceTraits, MixedKernels, Shader, LOOP_BUDGET};
use pconv::ops::conv::mixed::{f16_bytes, round_to_f16, MixedConv, MixedPass, MmaTile};
use pconv::ops::conv::{conv2d_bwd_data_cpu, conv2d_bwd_weight_cpu, conv2d_cpu, Window};

/// The device, computing in f32 whatever PCONV_PRECISION asked (tests
/// choose mixed explicitly), if it has f16; None (skip) otherwise, unless
/// required.
fn f16_gpu() -> Option<GpuContext> {
    let mut ctx = common::gpu()?;
    ctx.set_precision(pconv::gpu::Precision::F32).unwrap();
    let mixed = ctx.mixed_precision();
    if std::env::var("PCONV_REQUIRE_COOP").as_deref() == Ok("1") {
        assert!(
            mixed.coop_16x16_f16,
            "PCONV_REQUIRE_COOP=1 but {} offers no 16x16x16 f16 cooperative matrices on \
             32-wide subgroups (or the device was not opened with PCONV_PRECISION=mixed)",
            ctx.summary
        );
    }
    if !mixed.f16 {
        assert!(
            std::env::var("PCONV_REQUIRE_GPU").as_deref() != Ok("1"),
            "PCONV_REQUIRE_GPU=1 but {} has no f16 in shaders",
            ctx.summary
        );
        eprintln!("skipping: {} has no f16 in shaders", ctx.summary);
        return None;
    }
    Some(ctx)
}

/// Error bound of an f32 sum of `terms` exact products (f16 x f16 is
/// exact in f32) in any order: gamma_m = m u / (1 - m u) times the sum of
/// the terms' magnitudes, with u = 2^-24 doubled for accumulators that
/// truncate instead of rounding (tensor cores may).
fn gamma(terms: usize) -> f64 {
    let mu = terms as f64 * 2.0 * f64::powi(2.0, -24);
    mu / (1.0 - mu)
}

/// Runs `pass` of `conv` in `chunks` (asked) on f16-rounded operands and
/// compares every output with the f64 twin within the f32 accumulation
/// bound.
fn check(ctx: &GpuContext, conv: MixedConv, pass: MixedPass, chunks: usize, coop: bool, seed: u64) {
    let d = conv.dims;
    let mut rng = Rng::new(seed);
    let f16 =
        |v: Vec<f64>| -> Vec<f64> { v.iter().map(|&x| round_to_f16(x as f32) as f64).collect() };
    // The gathered operand and the left one (weights, or gy for the
    // weight gradient): activations up to 4 and weights up to 0.5, values
    // where f16 keeps 11 bits, as in a network.
    let x_len = d.n * d.c_in * d.h * d.w;
    let gy_len = d.n * d.c_out * d.h_out * d.w_out;
    let w_len = d.c_out * d.c_in * d.win.k * d.win.k;
    let (src_len, left_len, left_scale) = match pass {
        MixedPass::Forward => (x_len, w_len, 0.5),
        MixedPass::BackwardData => (gy_len, w_len, 0.5),
        MixedPass::BackwardWeight => (x_len, gy_len, 4.0),
    };
    let src = f16(rng.values(src_len).iter().map(|v| 4.0 * v).collect());
    let w = f16(rng
        .values(left_len)
        .iter()
        .map(|v| left_scale * v)
        .collect());
    let b: Vec<f64> = rng.values(d.c_out);
    let bias = (conv.bias && pass == MixedPass::Forward).then_some(b.as_slice());
    let abs = |v: &[f64]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
    // The exact result and the sum of its terms' magnitudes.
    let (want, magnitude, terms) = match pass {
        MixedPass::Forward => (
            conv2d_cpu(&d, &src, &w, bias),
            conv2d_cpu(&d, &abs(&src), &abs(&w), bias.map(abs).as_deref()),
            d.c_in * d.win.k * d.win.k + 1,
        ),
        MixedPass::BackwardData => (
            conv2d_bwd_data_cpu(&d, &src, &w),
            conv2d_bwd_data_cpu(&d, &abs(&src), &abs(&w)),
            d.c_out * d.win.k * d.win.k,
        ),
        // Partial sums in f32, then their sum (in f32 here, as sum_splits
        // adds them: `partials` more terms).
        MixedPass::BackwardWeight => (
            conv2d_bwd_weight_cpu(&d, &w, &src),
            conv2d_bwd_weight_cpu(&d, &abs(&w), &abs(&src)),
            d.n * d.h_out * d.w_out,
        ),
    };
    let to32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
    let b32: Vec<f32> = to32(&b);
    // As asked, or as few more as lavapipe's loop budget needs.
    let chunks = (chunks..)
        .map(|wanted| conv.chunks(pass, wanted))
        .find(|&c| conv.twin_loop_iterations(c) < LOOP_BUDGET)
        .unwrap();
    let run = DirectRun::new(
        ctx,
        &conv.dispatch(pass, chunks, coop),
        &[
            bytemuck::cast_slice(&to32(&src)),
            bytemuck::cast_slice(&to32(&w)),
            bytemuck::cast_slice(&b32),
        ],
        (conv.output_len(pass) * chunks.count * 4) as u64,
    )
    .unwrap();
    run.run(1).unwrap();
    let partials: Vec<f32> = bytemuck::cast_slice(&run.read().unwrap()).to_vec();
    assert_eq!(partials.len(), want.len() * chunks.count);
    let got: Vec<f32> = partials
        .chunks(want.len())
        .fold(vec![0.0; want.len()], |sum, part| {
            sum.iter().zip(part).map(|(a, b)| a + b).collect()
        });
    let g = gamma(terms + chunks.count);
    let name = format!(
        "{pass:?} {d:?} bias {} {chunks:?} coop {coop} {:?}",
        conv.bias, conv.tile
    );
    assert_eq!(got.len(), want.len(), "{name}");
    for (i, ((&y, &r), &m)) in got.iter().zip(&want).zip(&magnitude).enumerate() {
        let err = (y as f64 - r).abs();
        assert!(
            err <= g * m,
            "{name}: [{i}] = {y}, want {r}: error {err:.3e} over the bound {:.3e}",
            g * m
        );
    }
}

/// Odd shapes: partial tiles of channels (64), pixels (64) and reduction
/// slices (32) on every side, several images, 1x1/3x3/5x5/7x7, strides 1,
/// 2 and 3.
fn shapes() -> Vec<MixedConv> {
    let win = |k, stride, pad| Window { k, stride, pad };
    [
        ((2, 3, 9, 11), 5, win(3, 1, 1), true),
        ((1, 20, 13, 7), 70, win(3, 1, 1), false),
        ((2, 7, 12, 10), 17, win(5, 2, 2), true),
        ((1, 3, 15, 17), 9, win(7, 2, 3), true),
        ((3, 40, 5, 6), 66, win(3, 2, 1), true),
        // Parts of the reduction index 1 long (the staging cursor carries
        // twice): a 1x1 window on a 1-pixel-wide map, 1x1 outputs.
        ((2, 5, 3, 1), 6, win(1, 1, 0), true),
        ((2, 4, 2, 2), 5, win(3, 2, 1), false),
        // Backward-data phases without taps (a 1x1 window at stride 2:
        // odd pixels get zeros) and nine phases of unequal taps (stride 3).
        ((2, 6, 5, 7), 9, win(1, 2, 0), true),
        ((1, 4, 8, 7), 6, win(5, 3, 2), true),
        // Results of more than 128 rows: two tall blocks, the second partial.
        ((1, 150, 6, 7), 130, win(3, 1, 1), true),
    ]
    .into_iter()
    .map(|(x, c_out, w, bias)| MixedConv::new(x, c_out, w, bias).unwrap())
    .collect()
}

/// Every shape in both blocks of results (64 and 128 rows per workgroup).
fn shapes_and_tiles() -> Vec<MixedConv> {
    shapes()
        .into_iter()
        .flat_map(|conv| MmaTile::ALL.map(|tile| MixedConv { tile, ..conv }))
        .collect()
}

#[test]
fn mixed_twin_matches_cpu_on_odd_shapes() {
    let Some(ctx) = f16_gpu() else { return };
    for (i, conv) in shapes_and_tiles().into_iter().enumerate() {
        for pass in MixedPass::ALL {
            // Whole, and in chunks (3 asked: short reductions get fewer).
            for chunks in [1, 3] {
                check(&ctx, conv, pass, chunks, false, 10 + i as u64);
            }
        }
    }
}

#[test]
fn mixed_cooperative_matrices_match_cpu_on_odd_shapes() {
    let Some(ctx) = f16_gpu() else { return };
    if !ctx.mixed_precision().coop_16x16_f16 {
        eprintln!("skipping: {} has no cooperative matrices", ctx.summary);
        return;
    }
    for (i, conv) in shapes_and_tiles().into_iter().enumerate() {
        for pass in MixedPass::ALL {
            for chunks in [1, 3] {
                check(&ctx, conv, pass, chunks, true, 10 + i as u64);
            }
        }
    }
}

/// `len` f32 values of magnitudes in [1/64, `scale`], normal in f16 (so
/// rounding them errs by at most 2^-10 relative), of random signs.
fn normal_operands(rng: &mut Rng, len: usize, scale: f64) -> Vec<f64> {
    rng.values(len)
        .iter()
        .map(|v| (v.signum() * (1.0 / 64.0 + v.abs() * (scale - 1.0 / 64.0))) as f32 as f64)
        .collect()
}

/// A graph's convolutions lowered in mixed precision (f32 tensors rounded
/// to f16 as the tiles stage them, partial sums) against the f64 twins on
/// the f32 operands. Operands have magnitudes in [1/64, 4], normal in f16,
/// so the rounding's only error is relative, at most 2^-10 each (a GPU may round to
/// either neighbour): a product is within 2^-9 + 2^-20 of exact, plus the
/// f32 accumulation (gamma over the terms and the chunks' sum). Then again
/// with x and gy reaching the passes as f16 (copies stored so) and y and
/// gx stored as f16: the operands' rounding is the same, the results'
/// adds 2^-10 of their value.
#[test]
fn graph_convolutions_in_mixed_precision_match_cpu() {
    let Some(ctx) = f16_gpu() else { return };
    // A deep small map (several chunks on a CPU adapter and a GPU), and
    // a strided 5x5; each with the 128-row blocks where a result has 128
    // rows or more (case 0's input gradient) and without.
    let cases = [((2, 150, 6, 5), 70, 3, 1, 1), ((1, 9, 13, 11), 20, 5, 2, 2)];
    for (case, conv) in cases.into_iter().enumerate() {
        for tall in [false, true] {
            check_graph_passes(&ctx, conv, 40 + case as u64, tall, false);
        }
    }
}

/// The 3x3 stride-1 kernels (`conv3x3_mma.wgsl` for the forward pass and
/// the input gradient, `conv3x3_mma_bwd_weight.wgsl` for the weight
/// gradient), as `graph_convolutions_in_mixed_precision_match_cpu` checks
/// the implicit GEMM: partial blocks of pixels (rows of 16, 4 rows),
/// result channels (64) and channel slices (16) on every side; the second
/// case's forward reduction runs in chunks (on the twin: lavapipe's loop
/// budget; on a GPU: few blocks), and every case's weight gradient; the
/// third runs again in 128-channel blocks.
#[test]
fn direct_3x3_convolutions_in_mixed_precision_match_cpu() {
    let Some(ctx) = f16_gpu() else { return };
    let cases = [
        ((2, 37, 9, 21), 70, 3, 1, 1),
        ((1, 170, 5, 16), 20, 3, 1, 1),
        ((1, 130, 5, 17), 140, 3, 1, 1),
    ];
    for (case, conv) in cases.into_iter().enumerate() {
        check_graph_passes(&ctx, conv, 60 + case as u64, false, true);
    }
    // The 128-channel blocks: forward and input gradient of 140 and 130
    // result channels (a second, partial block), each in chunks on the twin.
    check_graph_passes(&ctx, cases[2], 70, true, true);
}

/// A graph's convolutions lowered in mixed precision, with the twin and,
/// where the device has them, cooperative matrices (the 128-row blocks
/// where `tall`, the 3x3 kernel where `direct`), each with f32 and f16
/// activations, against the f64 twins on the f32 operands. Operands have
/// magnitudes in [1/64, 4], normal in f16, so the rounding's only error
/// is relative, at most 2^-10 each (a GPU may round to either neighbour):
/// a product is within 2^-9 + 2^-20 of exact, plus the f32 accumulation
/// (gamma over the terms and the chunks' sum). With f16 activations x and
/// gy reach the passes as f16 (copies stored so) and y and gx are stored
/// as f16: the operands' rounding is the same, the results' adds 2^-10 of
/// their value.
#[allow(clippy::type_complexity)]
fn check_graph_passes(
    ctx: &GpuContext,
    ((n, c_in, h, w), c_out, k, stride, pad): (
        (usize, usize, usize, usize),
        usize,
        usize,
        usize,
        usize,
    ),
    seed: u64,
    tall: bool,
    direct: bool,
) {
    let mut kernels = vec![MixedKernels::Twin];
    if ctx.mixed_precision().coop_16x16_f16 {
        kernels.push(MixedKernels::Coop);
    }
    let mut rng = Rng::new(seed);
    let mut operand = |len: usize, scale: f64| normal_operands(&mut rng, len, scale);
    let conv = MixedConv::new((n, c_in, h, w), c_out, Window { k, stride, pad }, true).unwrap();
    let d = conv.dims;
    let x = operand(n * c_in * h * w, 4.0);
    let wt = operand(c_out * c_in * k * k, 0.5);
    let b = operand(c_out, 1.0);
    let gy = operand(n * c_out * d.h_out * d.w_out, 4.0);
    let abs = |v: &[f64]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
    let expected = [
        (
            conv2d_cpu(&d, &x, &wt, Some(&b)),
            conv2d_cpu(&d, &abs(&x), &abs(&wt), Some(&abs(&b))),
            c_in * k * k + 1,
        ),
        (
            conv2d_bwd_data_cpu(&d, &gy, &wt),
            conv2d_bwd_data_cpu(&d, &abs(&gy), &abs(&wt)),
            c_out * k * k,
        ),
        (
            conv2d_bwd_weight_cpu(&d, &gy, &x),
            conv2d_bwd_weight_cpu(&d, &abs(&gy), &abs(&x)),
            n * d.h_out * d.w_out,
        ),
    ];
    for (mixed, half) in kernels.iter().flat_map(|&k| [(k, false), (k, true)]) {
        let traits = DeviceTraits {
            mixed,
            mixed_tall: tall,
            mixed_direct: direct,
            half_storage: half,
            ..ctx.traits()
        };
        let (g, [tx, tw, tb, tgy], [y, gx, gw]) = conv.three_passes(half).unwrap();
        let rec = Recording::of(&g, &traits, &[y, gx, gw]);
        let convs: Vec<_> = g
            .nodes
            .iter()
            .zip(&rec.storage.nodes)
            .filter(|(n, _)| matches!(n.op, pconv::ops::Op::Conv(_)))
            .map(|(_, h)| (h.input, h.output))
            .collect();
        let stored = [(half, half), (half, half), (half, false)];
        assert_eq!(convs, stored, "the passes' f16 variants");
        // The three passes run on the 3x3 kernels exactly where asked.
        let on_3x3 = rec
            .nodes
            .iter()
            .filter(|n| {
                n.dispatches.iter().any(|d| {
                    matches!(
                        d.kernel.shader,
                        Shader::Conv3x3Mma | Shader::Conv3x3MmaBwdWeight
                    )
                })
            })
            .count();
        assert_eq!(on_3x3, 3 * direct as usize, "passes on the 3x3 kernels");
        let tall_3x3 = rec
            .nodes
            .iter()
            .flat_map(|n| &n.dispatches)
            .any(|d| d.kernel.shader == Shader::Conv3x3Mma && d.kernel.has(Defines::TALL));
        assert_eq!(tall_3x3, direct && tall && c_out.max(c_in) >= 128);
        let exec = Executor::with_traits(ctx, &g, &[y, gx, gw], &traits).unwrap();
        for (t, v) in [(tx, &x), (tw, &wt), (tb, &b), (tgy, &gy)] {
            exec.write(t, &common::to_f32(v)).unwrap();
        }
        exec.run();
        exec.wait().unwrap();
        assert!(ctx.take_errors().is_empty());
        for (k, ((want, magnitude, terms), t)) in expected.iter().zip([y, gx, gw]).enumerate() {
            let got = exec.read(t).unwrap();
            // Chunks: at most one per 32 terms.
            let bound =
                f64::powi(2.0, -9) + f64::powi(2.0, -20) + gamma(terms + terms.div_ceil(32));
            for (i, ((&v, &r), &m)) in got.iter().zip(want).zip(magnitude).enumerate() {
                let err = (v as f64 - r).abs();
                let stored_f16 = half && k < 2;
                let limit = bound * m
                    + stored_f16 as u8 as f64 * f64::powi(2.0, -10) * (r.abs() + bound * m);
                assert!(
                    err <= limit,
                    "{mixed:?} tall {tall} direct {direct} f16 storage {half} seed {seed} output \
                     {k}[{i}] = {v}, want {r}: error {err:.3e} over {limit:.3e}"
                );
            }
        }
    }
}

#[test]
fn windows_that_do_not_fit_are_refused() {
    let e = MixedConv::new(
        (1, 3, 2, 2),
        4,
        Window {
            k: 7,
            stride: 1,
            pad: 0,
        },
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("does not fit"), "{e}");
}

/// `pconv bench --kernels` times the mixed kernels through the graph; here
/// on a shape small enough for any adapter.
#[test]
fn mixed_kernels_can_be_timed() {
    use pconv::bench::{time_conv, ConvKernels, ConvPass, ConvShape};
    let Some(ctx) = f16_gpu() else { return };
    let shape = ConvShape {
        name: "tiny",
        n: 1,
        c_in: 4,
        c_out: 8,
        size: 8,
        k: 3,
        stride: 1,
    };
    for pass in ConvPass::ALL {
        let t = time_conv(&ctx, shape, pass, ConvKernels::mixed(MixedKernels::Twin), 2).unwrap();
        assert!(t.median_s > 0.0 && t.gflop_per_s.is_finite(), "{t:?}");
    }
}

/// A tiny training session (common::tiny_step) on `ctx`, with seeded
/// weights and a random (seeded) VGG; `loss_scaling` as given.
fn train_session(ctx: &GpuContext, loss_scaling: bool) -> pconv::train::session::TrainSession {
    let cfg = pconv::train::TrainStepConfig {
        loss_scaling,
        ..common::tiny_step(pconv::model::Mode::Train)
    };
    common::seeded_session(ctx, &cfg)
}

/// Batch `seed` of the tiny step: images [2, 3, 16, 24] and masks.
fn tiny_batch(seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let images = (0..2 * 3 * 16 * 24).map(|_| rng.uniform() as f32).collect();
    let masks = rng
        .mask(2, 16, 24, 0.35)
        .iter()
        .map(|&m| m as f32)
        .collect();
    (images, masks)
}

fn model_bits(s: &pconv::train::session::TrainSession) -> Vec<u32> {
    let all = s.read_all(s.model_state().into_iter()).unwrap();
    all.iter().map(|v| v.to_bits()).collect()
}

/// In f32, scaling the loss by 2^16 and the gradients back is exact (a
/// power of 2; the backward is linear in its seed): a loss-scaled step
/// (seed from the scaler, checked accumulators, Adam unscaling after the
/// whole backward, the scale's update) leaves the weights, moments and
/// statistics bit for bit where the plain step does, and the scaler counts
/// clean steps.
#[test]
fn loss_scaling_is_exact_in_f32() {
    let Some(ctx) = f16_gpu() else { return };
    let plain = train_session(&ctx, false);
    let scaled = train_session(&ctx, true);
    for step in 1..=3u64 {
        let (images, masks) = tiny_batch(step);
        for s in [&plain, &scaled] {
            s.write_batch(&images, &masks).unwrap();
        }
        let a = plain.submit(1e-2, step).unwrap().wait().unwrap();
        let b = scaled.submit(1e-2, step).unwrap().wait().unwrap();
        assert_eq!(a[..], b[..a.len()], "loss terms of step {step}");
        assert_eq!(
            b[a.len()..],
            [65536.0, 0.0, step as f32, 0.0],
            "scaler after step {step}"
        );
        assert_eq!(
            model_bits(&plain),
            model_bits(&scaled),
            "model after step {step}"
        );
    }
}

/// A step whose gradients overflow (a loss scale near f32's largest
/// value makes them infinite) changes no weight and no Adam moment, halves
/// the loss scale and counts the skip; later clean steps train again. In
/// mixed precision (the twin on lavapipe) the loss terms and weights
/// follow the f32 run's closely.
#[test]
fn mixed_precision_training_skips_overflow_and_tracks_f32() {
    let Some(ctx) = f16_gpu() else { return };
    let mut mixed_ctx = ctx.clone();
    mixed_ctx
        .set_precision(pconv::gpu::Precision::Mixed)
        .unwrap();
    let f32_run = train_session(&ctx, true);
    let mixed = train_session(&mixed_ctx, true);
    // Mixed precision refuses a step without loss scaling.
    let plain_cfg = common::tiny_step(pconv::model::Mode::Train);
    let err = pconv::train::session::TrainSession::compile(&mixed_ctx, &plain_cfg, false);
    assert!(err.is_err_and(|e| e.to_string().contains("loss scaling")));

    let adam: Vec<_> = mixed
        .step
        .trained
        .iter()
        .flat_map(|&(p, _, m, v)| [p, m, v])
        .collect();
    let bits = |s: &pconv::train::session::TrainSession| -> Vec<u32> {
        s.read_all(adam.iter().copied())
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    };
    let before = bits(&mixed);
    mixed.set_loss_scaler([f32::MAX, 0.0, 0.0, 0.0]).unwrap();
    let (images, masks) = tiny_batch(1);
    mixed.write_batch(&images, &masks).unwrap();
    let out = mixed.submit(1e-2, 1).unwrap().wait().unwrap();
    let terms = out.len() - 4;
    assert!(
        out[..terms].iter().all(|v| v.is_finite()),
        "the forward is untouched"
    );
    assert_eq!(
        out[terms..],
        [f32::MAX * 0.5, 0.0, 0.0, 1.0],
        "the scaler after an overflow"
    );
    assert_eq!(
        bits(&mixed),
        before,
        "a skipped step changed weights or moments"
    );
    // The scaler finds its scale: from 2^16, every overflowing step
    // (some gradient beyond f16's range) is skipped and halves it, until a
    // clean step trains. Then one f32 step from the same weights at that
    // scale: the loss terms (the forward in f16 convolutions) within 1e-3
    // relative, each parameter's gradient within 1e-2 of the f32 one in
    // norm. (Adam's first steps move every weight by about lr whatever the
    // gradient's size, so weights are not compared: a sign flip of a tiny
    // gradient moves one by 2 lr.) Tolerances are acceptance bounds: f16
    // operands err by 2^-11 relative.
    mixed.set_loss_scaler([65536.0, 0.0, 0.0, 0.0]).unwrap();
    let mut b = Vec::new();
    for tries in 1..=16 {
        b = mixed.submit(1e-3, 1).unwrap().wait().unwrap();
        if b[terms + 2] == 1.0 {
            break;
        }
        assert_eq!(
            bits(&mixed),
            before,
            "skipped step {tries} changed the model"
        );
    }
    let scale = b[terms];
    assert_eq!(
        b[terms + 1..],
        [0.0, 1.0, b[terms + 3]],
        "a clean step at last"
    );
    eprintln!("clean at loss scale {scale} after {} skips", b[terms + 3]);
    f32_run.set_loss_scaler([scale, 0.0, 0.0, 0.0]).unwrap();
    f32_run.write_batch(&images, &masks).unwrap();
    let a = f32_run.submit(1e-3, 1).unwrap().wait().unwrap();
    let mut worst_term = 0.0f32;
    for (k, (x, y)) in a[..terms].iter().zip(&b[..terms]).enumerate() {
        let rel = (x - y).abs() / x.abs().max(1e-6);
        worst_term = worst_term.max(rel);
        assert!(rel <= 1e-3, "term {k}: f32 {x}, mixed {y}");
    }
    let mut worst_grad = 0.0f64;
    for &(_, acc, _, _) in &mixed.step.trained {
        let (g32, g16) = (
            f32_run.exec.read(acc).unwrap(),
            mixed.exec.read(acc).unwrap(),
        );
        let norm = g32.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
        let diff = g32
            .iter()
            .zip(&g16)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let rel = diff / norm.max(1e-30);
        worst_grad = worst_grad.max(rel);
        assert!(
            rel <= 1e-2,
            "gradient {}: relative error {rel:e}",
            mixed.step.graph.info(acc).name
        );
    }
    eprintln!("mixed vs f32: loss terms within {worst_term:e}, gradients within {worst_grad:e}");
}

/// The self-test a device opened in mixed precision runs before it uses
/// cooperative matrices passes with the kernels this device runs (the
/// twin on lavapipe; cooperative matrices where offered); a device whose
/// self-test fails runs the twin and says why, one that offers none runs
/// the twin without testing.
#[test]
fn the_mixed_precision_self_test_passes_and_decides_the_kernels() {
    use pconv::gpu::precision::choose_kernels;
    let Some(mut ctx) = f16_gpu() else { return };
    assert_eq!(
        pconv::ops::conv::mixed::self_test(&ctx, MixedKernels::Twin),
        Ok(())
    );
    ctx.set_precision(pconv::gpu::Precision::Mixed).unwrap();
    let offered = ctx.mixed_precision().coop_16x16_f16;
    assert_eq!(ctx.coop_refused(), None, "{}", ctx.summary);
    assert_eq!(
        ctx.traits().mixed,
        if offered {
            MixedKernels::Coop
        } else {
            MixedKernels::Twin
        }
    );
    assert_eq!(
        choose_kernels(false, || panic!("not offered: not tested")),
        (MixedKernels::Twin, None)
    );
    assert_eq!(choose_kernels(true, || Ok(())), (MixedKernels::Coop, None));
    assert_eq!(
        choose_kernels(true, || Err("gave 1 where 2".into())),
        (MixedKernels::Twin, Some("gave 1 where 2".into()))
    );
}

/// The cooperative-matrix instruction alone (shaders/probe/coop_mma16.wgsl),
/// from storage and from workgroup memory: d = a b + c on one 16x16x16
/// tile of small integers, exact in f16 and f32, so d must equal the CPU's
/// product exactly. Where a conv kernel fails on a driver, this says
/// whether the instruction itself does.
#[test]
fn cooperative_matrix_instruction_is_exact_on_small_integers() {
    use pconv::kernels::{Binding, Defines, Dispatch, Shader};
    let Some(ctx) = f16_gpu() else { return };
    if !ctx.mixed_precision().coop_16x16_f16 {
        eprintln!("skipping: {} has no cooperative matrices", ctx.summary);
        return;
    }
    let mut rng = Rng::new(77);
    let mut small = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| (rng.uniform() * 7.0).floor() as f32 - 3.0)
            .collect()
    };
    let (a, b, c) = (small(256), small(256), small(256));
    let want: Vec<f32> = (0..256)
        .map(|i| {
            let (r, col) = (i / 16, i % 16);
            c[i] + (0..16)
                .map(|k| a[r * 16 + k] * b[k * 16 + col])
                .sum::<f32>()
        })
        .collect();
    for staged in [false, true] {
        let dispatch = Dispatch {
            kernel: Shader::CoopProbe.with(Defines::NONE.with_if(Defines::STAGED, staged)),
            params: vec![16],
            bindings: (0..3)
                .map(Binding::Input)
                .chain([Binding::Output(0)])
                .collect(),
            workgroups: [1, 1, 1],
        };
        let run = DirectRun::new(
            &ctx,
            &dispatch,
            &[&f16_bytes(&a), &f16_bytes(&b), bytemuck::cast_slice(&c)],
            256 * 4,
        )
        .unwrap();
        run.run(1).unwrap();
        let got: Vec<f32> = bytemuck::cast_slice(&run.read().unwrap()).to_vec();
        assert_eq!(got, want, "staged {staged}");
    }
}

/// The kernel's rounding of its f32 operands to f16 (`to_f16` in
/// conv/conv2d_mma.wgsl), seen through a 1x1 convolution with the weight 1
/// (y = f16(x), exact in f32), against the host's f16 rounding: a value in
/// range lands on one of its two f16 neighbours (WGSL lets a GPU round
/// either way; it must be the nearest where the value is exactly
/// representable); beyond ±65504 and for a NaN or an infinity it gives an
/// infinity or a NaN, never a finite value, so the loss scale sees the
/// overflow.
/// `bench --peak`'s probe computes exactly what it times (a few rounds,
/// against the CPU's product) where the device has cooperative matrices;
/// elsewhere the measurement is refused with a message saying why.
#[test]
fn the_tensor_core_peak_probe_is_exact() {
    use pconv::bench::peak::{measure_peak, probe_expected, probe_run, probe_tiles};
    let Some(ctx) = f16_gpu() else { return };
    if !ctx.mixed_precision().coop_16x16_f16 {
        let e = measure_peak(&ctx, 1).unwrap_err().to_string();
        assert!(e.contains("no 16x16x16 f16 cooperative matrices"), "{e}");
        eprintln!(
            "skipping the probe: {} has no cooperative matrices",
            ctx.summary
        );
        return;
    }
    let (a, b) = probe_tiles();
    for staged in [false, true] {
        let run = probe_run(&ctx, staged, 3, 2).unwrap();
        run.run(1).unwrap();
        let got: Vec<f32> = bytemuck::cast_slice(&run.read().unwrap()).to_vec();
        assert_eq!(got, probe_expected(&a, &b, 3), "staged {staged}");
    }
}

#[test]
fn operands_round_to_f16_in_range_and_overflow_to_infinity() {
    let Some(ctx) = f16_gpu() else { return };
    let mut rng = Rng::new(91);
    let mut values: Vec<f32> = rng.values(997).iter().map(|v| (v * 3e4) as f32).collect();
    values.extend([
        0.0,
        -0.0,
        1.0,
        65504.0,
        -65504.0,
        65505.0,
        7e4,
        -1e6,
        3e38,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1e-3,
        6.1e-5,
        1e-7,
    ]);
    let conv = MixedConv::new(
        (1, 1, 1, values.len()),
        1,
        Window {
            k: 1,
            stride: 1,
            pad: 0,
        },
        false,
    )
    .unwrap();
    let mut kernels = vec![false];
    if ctx.mixed_precision().coop_16x16_f16 {
        kernels.push(true);
    }
    for coop in kernels {
        let run = DirectRun::new(
            &ctx,
            &conv.dispatch(MixedPass::Forward, conv.chunks(MixedPass::Forward, 1), coop),
            &[
                bytemuck::cast_slice(&values),
                bytemuck::cast_slice(&[1.0f32]),
                bytemuck::cast_slice(&[0.0f32]),
            ],
            (values.len() * 4) as u64,
        )
        .unwrap();
        run.run(1).unwrap();
        let got: Vec<f32> = bytemuck::cast_slice(&run.read().unwrap()).to_vec();
        check_f16_rounding(&values, &got, coop);
    }
}

fn check_f16_rounding(values: &[f32], rounded: &[f32], coop: bool) {
    for (&v, &got) in values.iter().zip(rounded) {
        if v.is_nan() || v.abs() > 65504.0 {
            assert!(!got.is_finite(), "{v} rounded to {got} (coop {coop})");
            if !v.is_nan() {
                assert!(
                    got.is_nan() || got.signum() == v.signum(),
                    "{v} rounded to {got} (coop {coop})"
                );
            }
            continue;
        }
        let near = half::f16::from_f32(v);
        // f16 spacing at |v|: 2^(e - 10) for normal values, 2^-24 below.
        let spacing = f32::powi(
            2.0,
            (v.abs().max(6.103_515_6e-5)).log2().floor() as i32 - 10,
        );
        let ok = if near.to_f32() == v {
            got == v
        } else {
            (got - v).abs() < spacing
        };
        assert!(
            ok,
            "{v} rounded to {got} (nearest f16 {}, coop {coop})",
            near.to_f32()
        );
    }
}

/// Every op with f16-storage variants (`Op::half_io`), run between f16
/// copies so that it reads and writes its activations as f16 (BatchNorm:
/// reads f32, writes f16; the test checks the storage plan chose those
/// variants), against its f64 twin on f16 values, scalar and vec4 shapes. Copies, max-pooling and their
/// backward passes move values unchanged: exact. Every other result
/// stored as f16 is rounded once, to either neighbour on a GPU: within
/// 2^-10 relative; all have the f32 arithmetic before it: 2^-24 of the operands'
/// magnitude per operation, two operations (or an exact sum of four f16
/// values), and for BatchNorm the per-channel sums over the batch (two
/// passes of `count` terms each for the statistics or the gradient sums,
/// then the normalisation), with the magnitude of a normalised value
/// times gamma and of the gradient terms; the losses' and Gram matrices'
/// sums over their terms.
#[test]
fn activations_stored_as_f16_match_cpu() {
    use pconv::graph::storage::Storage;
    use pconv::graph::Graph;
    use pconv::ops::{L1Weight, LossOp, NnOp, Op};
    let Some(ctx) = f16_gpu() else { return };
    // Gram matrices read f16 features where they read storage buffers, not
    // texel arrays (CPU adapters').
    let traits = DeviceTraits {
        mixed: MixedKernels::Twin,
        half_storage: true,
        texel_rows: 0,
        ..ctx.traits()
    };
    let nn = |op: NnOp| Op::Nn(op);
    // (op, input shapes, whether each input is an activation, exact)
    type Case = (Op, Vec<Vec<usize>>, Vec<bool>, bool);
    let cases: Vec<Case> = vec![
        (
            nn(NnOp::Activation { slope: 0.2 }),
            vec![vec![2, 3, 5, 7]],
            vec![true],
            false,
        ),
        (
            nn(NnOp::Activation { slope: 0.0 }),
            vec![vec![2, 3, 4, 8]],
            vec![true],
            true,
        ),
        (
            nn(NnOp::ActivationBwd { slope: 0.2 }),
            vec![vec![2, 3, 5, 7]; 2],
            vec![true, true],
            false,
        ),
        (
            nn(NnOp::ActivationBwd { slope: 0.2 }),
            vec![vec![1, 2, 4, 4]; 2],
            vec![true, true],
            false,
        ),
        (
            nn(NnOp::Upsample2x),
            vec![vec![2, 3, 5, 7]],
            vec![true],
            true,
        ),
        (
            nn(NnOp::Upsample2x),
            vec![vec![2, 3, 4, 6]],
            vec![true],
            true,
        ),
        (
            nn(NnOp::Upsample2xBwd),
            vec![vec![2, 3, 10, 14]],
            vec![true],
            false,
        ),
        (
            nn(NnOp::Upsample2xBwd),
            vec![vec![1, 3, 8, 12]],
            vec![true],
            false,
        ),
        (
            nn(NnOp::Concat),
            vec![vec![2, 3, 5, 7], vec![2, 2, 5, 7]],
            vec![true, true],
            true,
        ),
        (
            nn(NnOp::Concat),
            vec![vec![2, 3, 4, 4], vec![2, 5, 4, 4]],
            vec![true, true],
            true,
        ),
        (
            nn(NnOp::SliceChannels { start: 1, len: 2 }),
            vec![vec![2, 4, 5, 7]],
            vec![true],
            true,
        ),
        (
            nn(NnOp::SliceChannels { start: 3, len: 2 }),
            vec![vec![1, 6, 4, 4]],
            vec![true],
            true,
        ),
        (nn(NnOp::MaxPool2), vec![vec![2, 3, 7, 9]], vec![true], true),
        (nn(NnOp::MaxPool2), vec![vec![2, 3, 4, 8]], vec![true], true),
        (
            nn(NnOp::MaxPool2Bwd),
            vec![vec![2, 3, 7, 9], vec![2, 3, 3, 4]],
            vec![true, true],
            true,
        ),
        (
            nn(NnOp::MaxPool2Bwd),
            vec![vec![2, 3, 4, 8], vec![2, 3, 2, 4]],
            vec![true, true],
            true,
        ),
        (
            nn(NnOp::ChannelScale {
                invert: false,
                bias: true,
            }),
            vec![vec![2, 3, 5, 7], vec![2, 1, 5, 7], vec![3]],
            vec![true, false, false],
            false,
        ),
        (
            nn(NnOp::ChannelScale {
                invert: true,
                bias: false,
            }),
            vec![vec![2, 3, 4, 4], vec![2, 1, 4, 4]],
            vec![true, false],
            false,
        ),
        (
            nn(NnOp::Axpby {
                alpha: 0.5,
                beta: -2.0,
            }),
            vec![vec![3, 5, 7]; 2],
            vec![true, true],
            false,
        ),
        (
            nn(NnOp::Axpby {
                alpha: 1.5,
                beta: 0.0,
            }),
            vec![vec![4, 8]],
            vec![true],
            false,
        ),
        (
            nn(NnOp::BatchNorm {
                train: true,
                eps: 1e-5,
                momentum: 0.1,
            }),
            vec![vec![2, 3, 5, 7], vec![3], vec![3], vec![3], vec![3]],
            vec![false; 5],
            false,
        ),
        (
            nn(NnOp::BatchNorm {
                train: true,
                eps: 1e-5,
                momentum: 0.1,
            }),
            vec![vec![3, 2, 4, 4], vec![2], vec![2], vec![2], vec![2]],
            vec![false; 5],
            false,
        ),
        (
            nn(NnOp::BatchNormBwd { train: true }),
            vec![
                vec![2, 3, 5, 7],
                vec![2, 3, 5, 7],
                vec![3],
                vec![3],
                vec![3],
            ],
            vec![false; 5],
            false,
        ),
        (
            nn(NnOp::BatchNormBwd { train: true }),
            vec![
                vec![3, 2, 4, 4],
                vec![3, 2, 4, 4],
                vec![2],
                vec![2],
                vec![2],
            ],
            vec![false; 5],
            false,
        ),
        (
            Op::Loss(LossOp::L1Mean {
                weight: L1Weight::None,
            }),
            vec![vec![2, 3, 5, 7]; 2],
            vec![true, true],
            false,
        ),
        (
            Op::Loss(LossOp::L1Mean {
                weight: L1Weight::Hole,
            }),
            vec![vec![2, 3, 4, 4], vec![2, 3, 4, 4], vec![2, 1, 4, 4]],
            vec![true, true, false],
            false,
        ),
        (
            Op::Loss(LossOp::L1MeanBwd {
                weight: L1Weight::Known,
            }),
            vec![
                vec![1],
                vec![2, 3, 5, 7],
                vec![2, 3, 5, 7],
                vec![2, 1, 5, 7],
            ],
            vec![false, true, true, false],
            false,
        ),
        (
            Op::Loss(LossOp::L1MeanBwd {
                weight: L1Weight::None,
            }),
            vec![vec![1], vec![2, 3, 4, 4], vec![2, 3, 4, 4]],
            vec![false, true, true],
            false,
        ),
        (
            Op::Loss(LossOp::Gram),
            vec![vec![2, 5, 7, 3]],
            vec![true],
            false,
        ),
        (
            nn(NnOp::ChannelAffine {
                scale: [4.4, 4.5, 4.4],
                shift: [-2.1, -2.0, -1.8],
            }),
            vec![vec![2, 3, 5, 7]],
            vec![true],
            false,
        ),
        (
            nn(NnOp::PConvEpilogue {
                bias: true,
                bn: true,
                eps: 1e-5,
                slope: 0.2,
            }),
            vec![
                vec![2, 3, 5, 7],
                vec![2, 1, 5, 7],
                vec![2, 1, 5, 7],
                vec![3],
                vec![3],
                vec![3],
                vec![3],
                vec![3],
            ],
            vec![true, false, false, false, false, false, false, false],
            false,
        ),
        (
            nn(NnOp::PConvEpilogue {
                bias: false,
                bn: false,
                eps: 1e-5,
                slope: 0.0,
            }),
            vec![vec![1, 2, 4, 4], vec![1, 1, 4, 4], vec![1, 1, 4, 4]],
            vec![true, false, false],
            false,
        ),
        (
            Op::Loss(LossOp::GramBwd),
            vec![vec![2, 5, 5], vec![2, 5, 7, 3]],
            vec![false, true],
            false,
        ),
    ];
    let mut rng = Rng::new(77);
    for (case, (op, shapes, activation, exact)) in cases.into_iter().enumerate() {
        // Values in f16 exactly: magnitudes in [1/64, 4] for activations,
        // 0/1 for masks ([n, 1, h, w]), positive values for the rest.
        let values: Vec<Vec<f64>> = shapes
            .iter()
            .zip(&activation)
            .map(|(s, &act)| {
                let len: usize = s.iter().product();
                let v = rng.values(len);
                if act {
                    v.iter()
                        .map(|x| {
                            round_to_f16((x.signum() * (1.0 / 64.0 + x.abs() * 3.9)) as f32) as f64
                        })
                        .collect()
                } else if s.len() == 4 && s[1] == 1 {
                    // A mask.
                    v.iter().map(|x| (*x > -0.3) as u8 as f64).collect()
                } else {
                    // Positive (a variance among them).
                    v.iter().map(|x| x.abs() + 0.25).collect()
                }
            })
            .collect();
        let mut g = Graph::new();
        let copy = Op::Nn(NnOp::Axpby {
            alpha: 1.0,
            beta: 0.0,
        });
        let inputs: Vec<_> = shapes
            .iter()
            .enumerate()
            .map(|(i, s)| g.input(&format!("in{i}"), s))
            .collect();
        let operands: Vec<_> = inputs
            .iter()
            .zip(&activation)
            .map(|(&t, &act)| {
                if act {
                    g.push(copy.clone(), &[t]).unwrap()[0]
                } else {
                    t
                }
            })
            .collect();
        let out = g.push(op.clone(), &operands).unwrap()[0];
        let kept = g.push(copy.clone(), &[out]).unwrap()[0];
        let rec = Recording::of(&g, &traits, &[kept]);
        let in_shapes: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
        let node = g.nodes.len() - 2;
        // BatchNorm reads f32 (its inputs are not copied to f16 here).
        assert_eq!(
            (
                rec.storage.nodes[node].input,
                rec.storage.nodes[node].output
            ),
            (
                activation.contains(&true),
                !op.half_io(&in_shapes, &traits).1.is_empty()
            ),
            "case {case} {op:?}: the f16 variants were not chosen"
        );
        let stored = rec.storage.tensors[out.index()];
        assert_eq!(stored == Storage::F16, rec.storage.nodes[node].output);
        let exec = Executor::with_traits(&ctx, &g, &[kept], &traits).unwrap();
        for (&t, v) in inputs.iter().zip(&values) {
            exec.write(t, &common::to_f32(v)).unwrap();
        }
        exec.run();
        exec.wait().unwrap();
        assert!(ctx.take_errors().is_empty());
        let got = exec.read(kept).unwrap();
        let ins: Vec<&[f64]> = values.iter().map(|v| v.as_slice()).collect();
        let want = op
            .eval_cpu(&ins, &in_shapes, &[g.shape(out).to_vec()])
            .outputs
            .remove(0);
        let (magnitude, operations) = match op {
            Op::Nn(NnOp::BatchNorm { .. }) | Op::Nn(NnOp::BatchNormBwd { .. }) => {
                let count = shapes[0][0] * shapes[0][2] * shapes[0][3];
                (64.0, 4 * count + 8)
            }
            // A sum of every |a - b| (one f32 result).
            Op::Loss(LossOp::L1Mean { .. }) => (8.0, shapes[0].iter().product::<usize>() + 2),
            // x r + b, BatchNorm with running statistics, the activation
            // and the mask.
            Op::Nn(NnOp::PConvEpilogue { .. }) => (32.0, 8),
            // Sums over positions (Gram) or channels (its backward).
            Op::Loss(LossOp::Gram) => (16.0, shapes[0][2] * shapes[0][3] + 2),
            Op::Loss(LossOp::GramBwd) => (8.0, shapes[1][1] + 2),
            _ => (16.0, 2),
        };
        for (i, (&v, &r)) in got.iter().zip(&want).enumerate() {
            let err = (v as f64 - r).abs();
            // The rounding to f16 only where the result is stored so (the
            // losses' sums and the Gram matrices stay f32).
            let rounding = if stored == Storage::F16 {
                f64::powi(2.0, -10) * r.abs()
            } else {
                0.0
            };
            let bound = if exact {
                0.0
            } else {
                rounding + f64::powi(2.0, -24) * magnitude * operations as f64
            };
            assert!(
                err <= bound,
                "case {case} {op:?}[{i}] = {v}, want {r} (error {err:.3e} over {bound:.3e})"
            );
        }
    }
}

/// A convolution whose only reader is a leaky ReLU runs both in one kernel
/// in mixed precision (the tiles' epilogue, or the sum of their chunks):
/// the activation node records nothing and its result shares the
/// convolution's buffer. Against the f64 twins: a leaky ReLU moves no two
/// values further apart, so the convolution's bound holds, plus the
/// rounding where the result is stored as f16. A deep small map (chunks
/// summed apart) and a strided 5x5 (one chunk), with f16 and f32
/// activations, the twin and (where offered) cooperative matrices.
#[test]
fn convolution_and_activation_fuse_in_mixed_precision() {
    use pconv::graph::storage::Storage;
    use pconv::graph::Graph;
    use pconv::ops::{ConvOp, NnOp, Op};
    let Some(ctx) = f16_gpu() else { return };
    let mut kernels = vec![MixedKernels::Twin];
    if ctx.mixed_precision().coop_16x16_f16 {
        kernels.push(MixedKernels::Coop);
    }
    // The third case on the 3x3 kernel (conv3x3_mma.wgsl).
    let cases = [
        ((2, 150, 6, 5), 70, 3, 1, 1),
        ((1, 9, 13, 11), 20, 5, 2, 2),
        ((1, 20, 5, 17), 24, 3, 1, 1),
    ];
    for (case, ((n, c_in, h, w), c_out, k, stride, pad)) in cases.into_iter().enumerate() {
        let direct = case == 2;
        let mut rng = Rng::new(90 + case as u64);
        let mut operand = |len: usize, scale: f64| normal_operands(&mut rng, len, scale);
        let mut g = Graph::new();
        let tx = g.input("x", &[n, c_in, h, w]);
        let tw = g.input("w", &[c_out, c_in, k, k]);
        let tb = g.input("b", &[c_out]);
        let conv = Op::Conv(ConvOp::Conv2d {
            stride,
            pad,
            bias: true,
        });
        let raw = g.push(conv, &[tx, tw, tb]).unwrap()[0];
        let act = g
            .push(Op::Nn(NnOp::Activation { slope: 0.2 }), &[raw])
            .unwrap()[0];
        let copy = Op::Nn(NnOp::Axpby {
            alpha: 1.0,
            beta: 0.0,
        });
        let out = g.push(copy, &[act]).unwrap()[0];
        let mc = MixedConv::new((n, c_in, h, w), c_out, Window { k, stride, pad }, true).unwrap();
        let d = mc.dims;
        let x = operand(n * c_in * h * w, 4.0);
        let wt = operand(c_out * c_in * k * k, 0.5);
        let b = operand(c_out, 1.0);
        let abs = |v: &[f64]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
        let want: Vec<f64> = conv2d_cpu(&d, &x, &wt, Some(&b))
            .iter()
            .map(|&v| if v > 0.0 { v } else { 0.2 * v })
            .collect();
        let magnitude = conv2d_cpu(&d, &abs(&x), &abs(&wt), Some(&abs(&b)));
        let terms = c_in * k * k + 1;
        let bound = f64::powi(2.0, -9) + f64::powi(2.0, -20) + gamma(terms + terms.div_ceil(32));
        for (mixed, half) in kernels.iter().flat_map(|&k| [(k, false), (k, true)]) {
            let traits = DeviceTraits {
                mixed,
                mixed_direct: direct,
                half_storage: half,
                ..ctx.traits()
            };
            let rec = Recording::of(&g, &traits, &[out]);
            assert!(
                rec.nodes[1].dispatches.is_empty(),
                "the activation ran apart"
            );
            let kernel = rec.nodes[0].dispatches.last().unwrap().kernel.shader;
            assert_eq!(kernel == Shader::Conv3x3Mma, direct, "{kernel:?}");
            assert_eq!(rec.aliases[act.index()], Some(raw));
            let f16 = rec.storage.tensors[act.index()] == Storage::F16;
            assert_eq!(f16, half);
            let exec = Executor::with_traits(&ctx, &g, &[out], &traits).unwrap();
            for (t, v) in [(tx, &x), (tw, &wt), (tb, &b)] {
                exec.write(t, &common::to_f32(v)).unwrap();
            }
            exec.run();
            exec.wait().unwrap();
            assert!(ctx.take_errors().is_empty());
            let got = exec.read(out).unwrap();
            for (i, ((&v, &r), &m)) in got.iter().zip(&want).zip(&magnitude).enumerate() {
                let err = (v as f64 - r).abs();
                let limit =
                    bound * m + f16 as u8 as f64 * f64::powi(2.0, -10) * (r.abs() + bound * m);
                assert!(
                    err <= limit,
                    "{mixed:?} case {case} f16 {half} [{i}] = {v}, want {r}: error {err:.3e} over \
                     {limit:.3e}"
                );
            }
        }
    }
}
