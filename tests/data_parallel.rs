//! Gradient accumulation and data parallelism (`train::parallel`): the
//! split step computes what the fused step does, micro-batches combine
//! exactly, a batch that does not split is refused, and (with
//! `--features mpi`) N ranks under mpirun equal one process with
//! `--accum N`, bit for bit.
mod common;

use common::{gpu, Rng};
use pconv::gpu::GpuContext;
use pconv::loss::{Preprocess, VggConfig};
use pconv::model::{Mode, UNetConfig};
use pconv::train::parallel::{accumulated_step, micro_batch, SingleProcess};
use pconv::train::session::TrainSession;
use pconv::train::TrainStepConfig;

fn config(batch: usize, accumulate: bool) -> TrainStepConfig {
    TrainStepConfig {
        net: UNetConfig {
            levels: 3,
            width: 1.0 / 16.0,
        },
        vgg: VggConfig {
            channels: [4, 6, 8],
        },
        preprocess: Preprocess::Torch,
        batch,
        height: 16,
        width: 24,
        mode: Mode::Train,
        ignore_unknown: false,
        ema: Some(0.5),
        accumulate,
    }
}

/// A compiled session with seeded weights and a random (seeded) VGG.
fn session(ctx: &GpuContext, batch: usize, accumulate: bool) -> TrainSession {
    let s = TrainSession::compile(ctx, &config(batch, accumulate), false).unwrap();
    s.upload_initial_weights(3).unwrap();
    let mut rng = Rng::new(5);
    for &(w, b) in &s.step.vgg.convs {
        for t in [w, b] {
            let len = s.step.graph.info(t).numel();
            let v: Vec<f32> = rng.values(len).iter().map(|x| *x as f32 * 0.3).collect();
            s.exec.write(t, &v).unwrap();
        }
    }
    s
}

/// `n` images [n, 3, 16, 24] and masks [n, 1, 16, 24] from `seed`.
fn batch(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let images = (0..n * 3 * 16 * 24).map(|_| rng.uniform() as f32).collect();
    let masks = rng
        .mask(n, 16, 24, 0.35)
        .iter()
        .map(|&m| m as f32)
        .collect();
    (images, masks)
}

fn state(s: &TrainSession) -> Vec<u32> {
    let all = s.read_all(s.model_state().into_iter()).unwrap();
    all.iter().map(|v| v.to_bits()).collect()
}

/// One micro-batch through the split step (gradients into accumulators,
/// running statistics restored and averaged, Adam on the sum scaled by 1)
/// leaves the weights, Adam moments, BatchNorm statistics and averages
/// bit-identical to the fused step that places Adam inside the backward.
#[test]
fn split_step_equals_fused_step() {
    let Some(ctx) = gpu() else { return };
    let fused = session(&ctx, 2, false);
    let split = session(&ctx, 2, true);
    assert!(
        split.submit(1e-2, 1).is_err(),
        "a split step is submitted in parts"
    );
    assert!(
        !split.step.running_stats.is_empty(),
        "training-mode BatchNorm"
    );
    for step in 1..=2u64 {
        let (images, masks) = batch(2, step);
        fused.write_batch(&images, &masks).unwrap();
        let a = fused.submit(1e-2, step).unwrap().wait().unwrap();
        let b = accumulated_step(&split, &SingleProcess, 1, &images, &masks, 1e-2, step).unwrap();
        assert_eq!(a, b, "loss terms of step {step}");
    }
    assert_eq!(state(&fused), state(&split));
}

/// Two micro-batches holding the same images give twice one gradient,
/// scaled back by 1/2, and two equal statistics updates: exactly the step
/// of one such micro-batch. Different micro-batches give another update.
#[test]
fn accumulated_micro_batches_combine_exactly() {
    let Some(ctx) = gpu() else { return };
    let one = session(&ctx, 2, true);
    let two = session(&ctx, 2, true);
    let other = session(&ctx, 2, true);
    let (images, masks) = batch(2, 11);
    let twice = |v: &[f32]| [v, v].concat();
    let (b_images, b_masks) = batch(2, 12);
    for t in 1..=2 {
        accumulated_step(&one, &SingleProcess, 1, &images, &masks, 1e-2, t).unwrap();
        let l2 = accumulated_step(
            &two,
            &SingleProcess,
            2,
            &twice(&images),
            &twice(&masks),
            1e-2,
            t,
        )
        .unwrap();
        assert!(l2.iter().all(|v| v.is_finite()));
        accumulated_step(
            &other,
            &SingleProcess,
            2,
            &[images.clone(), b_images.clone()].concat(),
            &[masks.clone(), b_masks.clone()].concat(),
            1e-2,
            t,
        )
        .unwrap();
    }
    assert_eq!(state(&one), state(&two));
    assert_ne!(state(&one), state(&other));
}

#[test]
fn a_batch_that_does_not_split_is_refused() {
    assert_eq!(micro_batch(12, 3, 2).unwrap(), 2);
    assert_eq!(micro_batch(4, 1, 1).unwrap(), 4);
    let e = micro_batch(6, 4, 1).unwrap_err().to_string();
    assert!(
        e.contains("--accum 4") && e.contains("multiple of 4"),
        "{e}"
    );
    let e = micro_batch(4, 1, 3).unwrap_err().to_string();
    assert!(e.contains("3 rank(s)"), "{e}");
}
