//! The whole training step (PConv-UNet forward, the six loss terms with VGG
//! features, backward, Adam) on a tiny configuration: CPU gradients against
//! finite differences for a sample of weights of every layer, and the GPU
//! against the CPU for every loss term, gradient and updated parameter.
mod common;

use common::{assert_close, gpu, to_f32, Rng};
use pconv::gpu::Executor;
use pconv::graph::cpu::CpuExecutor;
use pconv::graph::TensorId;
use pconv::model::{Mode, UNetConfig};
use pconv::ops::optim::adam_step_scalars;
use pconv::train::{TrainStep, TrainStepConfig};

fn tiny(mode: Mode) -> TrainStepConfig {
    common::tiny_step(mode)
}

/// Values of every persistent tensor: Kaiming weights, perturbed BatchNorm
/// parameters, random VGG, a random image and a mask with border holes.
fn values(step: &TrainStep, rng: &mut Rng) -> Vec<(TensorId, Vec<f64>)> {
    let g = &step.graph;
    let mut vals: Vec<(TensorId, Vec<f64>)> = step
        .net
        .initial_values(g, 7)
        .into_iter()
        .map(|(t, v)| {
            let name = &g.info(t).name;
            let v: Vec<f64> = v.iter().map(|&x| x as f64).collect();
            // Move BatchNorm away from its identity init so every path matters.
            let v = if name.ends_with("bn.weight") || name.ends_with("bn.running_var") {
                v.iter()
                    .map(|x| (x + 0.3 * rng.uniform()) as f32 as f64)
                    .collect()
            } else if name.ends_with("bn.bias")
                || name.ends_with("running_mean")
                || name.ends_with("dec1.bias")
            {
                rng.values(v.len())
                    .iter()
                    .map(|x| (0.1 * x) as f32 as f64)
                    .collect()
            } else {
                v
            };
            (t, v)
        })
        .collect();
    for &(w, b) in &step.vgg.convs {
        let fan_in = g.shape(w)[1] * 9;
        let std = (2.0 / fan_in as f64).sqrt() * 1.7;
        vals.push((
            w,
            rng.values(g.info(w).numel())
                .iter()
                .map(|x| (x * std) as f32 as f64)
                .collect(),
        ));
        vals.push((
            b,
            rng.values(g.info(b).numel())
                .iter()
                .map(|x| (x * 0.05) as f32 as f64)
                .collect(),
        ));
    }
    let [n, _, h, w] = <[usize; 4]>::try_from(g.shape(step.image)).unwrap();
    vals.push((
        step.image,
        (0..n * 3 * h * w)
            .map(|_| rng.uniform() as f32 as f64)
            .collect(),
    ));
    let mut mask = rng.mask(n, h, w, 0.35);
    if let Some(u) = step.unknown {
        // Unknown truth (the user's own holes when fitting one image) is a
        // hole for the network too.
        let unknown: Vec<f64> = rng.mask(n, h, w, 0.2).iter().map(|k| 1.0 - k).collect();
        for (m, u) in mask.iter_mut().zip(&unknown) {
            *m *= 1.0 - u;
        }
        vals.push((u, unknown));
    }
    vals.push((step.mask, mask));
    let s = adam_step_scalars(2e-4, 1, 1.0);
    vals.push((step.adam_step, s.iter().map(|&v| v as f64).collect()));
    vals
}

fn run_cpu(step: &TrainStep, vals: &[(TensorId, Vec<f64>)]) -> CpuExecutor {
    let mut cpu = CpuExecutor::new(&step.graph);
    for (t, v) in vals {
        cpu.set(*t, v).unwrap();
    }
    cpu.run(&step.graph);
    cpu
}

fn check_step(cfg: TrainStepConfig, seed: u64) {
    let mode = cfg.mode;
    let step = TrainStep::build(&cfg).unwrap();
    let mut rng = Rng::new(seed);
    let vals = values(&step, &mut rng);
    let cpu = run_cpu(&step, &vals);
    let total = cpu.get(step.losses.total)[0];
    assert!(total.is_finite() && total > 0.0, "total loss {total}");
    for (name, t) in step.losses.named() {
        assert!(
            cpu.get(t)[0] > 0.0,
            "{name} should be positive on random data"
        );
    }

    // Finite differences of the total loss for 3 weights of every trained tensor.
    for &(param, grad, _, _) in &step.trained {
        let name = step.graph.info(param).name.clone();
        let idx = vals.iter().position(|(t, _)| *t == param).unwrap();
        let analytic = cpu.get(grad).to_vec();
        let scale = analytic.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for _ in 0..3 {
            let at = (rng.uniform() * analytic.len() as f64) as usize;
            let eps = 1e-6;
            let mut plus = vals.clone();
            plus[idx].1[at] += eps;
            let mut minus = vals.clone();
            minus[idx].1[at] -= eps;
            let fd = (run_cpu(&step, &plus).get(step.losses.total)[0]
                - run_cpu(&step, &minus).get(step.losses.total)[0])
                / (2.0 * eps);
            assert!(
                (fd - analytic[at]).abs() <= 1e-4 * scale.max(1e-3) + 1e-4 * fd.abs(),
                "{mode:?} {name}[{at}]: finite difference {fd} vs backward {} (scale {scale})",
                analytic[at]
            );
        }
    }

    let Some(ctx) = gpu() else { return };
    let mut keep: Vec<TensorId> = step.losses.to_array().to_vec();
    keep.push(step.output);
    keep.extend(step.trained.iter().map(|&(_, g, _, _)| g));
    let exec = Executor::new(&ctx, &step.graph, &keep).unwrap();
    for (t, v) in &vals {
        exec.write(*t, &to_f32(v)).unwrap();
    }
    exec.run();
    assert_close(
        "output",
        &exec.read(step.output).unwrap(),
        cpu.get(step.output),
        1e-4,
    );
    for (name, t) in step.losses.named() {
        let got = exec.read(t).unwrap()[0] as f64;
        let want = cpu.get(t)[0];
        assert!(
            (got - want).abs() <= 2e-4 * want.abs(),
            "{mode:?} loss {name}: GPU {got} vs CPU {want}"
        );
    }
    for &(param, grad, m, _) in &step.trained {
        let name = &step.graph.info(param).name;
        assert_close(
            &format!("{mode:?} grad {name}"),
            &exec.read(grad).unwrap(),
            cpu.get(grad),
            2e-3,
        );
        assert_close(
            &format!("{mode:?} adam m {name}"),
            &exec.read(m).unwrap(),
            cpu.get(m),
            2e-3,
        );
        // After one Adam step every weight moves by about lr; the GPU and CPU
        // agree to well within that.
        let got = exec.read(param).unwrap();
        for (i, (&a, &b)) in got.iter().zip(cpu.get(param)).enumerate() {
            assert!(
                (a as f64 - b).abs() <= 1e-4 + 1e-5 * b.abs(),
                "{name}[{i}] after Adam: GPU {a} vs CPU {b}"
            );
        }
    }
    // BatchNorm running statistics were updated in place the same way.
    for (name, t) in step.net.named_tensors() {
        if name.contains("running") {
            assert_close(
                &format!("{mode:?} {name}"),
                &exec.read(t).unwrap(),
                cpu.get(t),
                1e-4,
            );
        }
    }
}

#[test]
fn train_step_matches_cpu_and_finite_differences() {
    check_step(tiny(Mode::Train), 21);
}

#[test]
fn fit_step_matches_cpu_and_finite_differences() {
    check_step(
        TrainStepConfig {
            ignore_unknown: true,
            ..tiny(Mode::Train)
        },
        23,
    );
}

#[test]
fn fit_step_learns_nothing_where_the_truth_is_unknown() {
    let fit = TrainStep::build(&TrainStepConfig {
        ignore_unknown: true,
        ..tiny(Mode::Train)
    })
    .unwrap();
    let plain = TrainStep::build(&tiny(Mode::Train)).unwrap();
    let mut rng = Rng::new(24);
    let vals = values(&fit, &mut rng);
    let unknown = fit.unknown.unwrap();
    let with_unknown = |v: f64| -> Vec<(TensorId, Vec<f64>)> {
        vals.iter()
            .map(|(t, x)| {
                (
                    *t,
                    if *t == unknown {
                        vec![v; x.len()]
                    } else {
                        x.clone()
                    },
                )
            })
            .collect()
    };
    // Nothing known: the loss sees only the truth, so no weight gets a gradient.
    let cpu = run_cpu(&fit, &with_unknown(1.0));
    for &(param, grad, _, _) in &fit.trained {
        let name = &fit.graph.info(param).name;
        assert!(
            cpu.get(grad).iter().all(|&g| g == 0.0),
            "{name} learned from unknown pixels"
        );
    }
    // Everything known: the same losses as ordinary training (tensors matched
    // by name).
    let fit_cpu = run_cpu(&fit, &with_unknown(0.0));
    let plain_vals: Vec<(TensorId, Vec<f64>)> = vals
        .iter()
        .filter(|(t, _)| *t != unknown)
        .map(|(t, x)| {
            let name = &fit.graph.info(*t).name;
            let same = plain
                .graph
                .tensors
                .iter()
                .position(|i| &i.name == name)
                .unwrap_or_else(|| panic!("{name} missing in the plain step"));
            (TensorId(same as u32), x.clone())
        })
        .collect();
    let plain_cpu = run_cpu(&plain, &plain_vals);
    for ((name, a), (_, b)) in fit.losses.named().iter().zip(plain.losses.named()) {
        let (a, b) = (fit_cpu.get(*a)[0], plain_cpu.get(b)[0]);
        assert!((a - b).abs() <= 1e-12 * b.abs(), "{name}: {a} vs {b}");
    }
}

#[test]
fn finetune_step_freezes_encoder_batchnorm() {
    let step = TrainStep::build(&tiny(Mode::FineTune)).unwrap();
    let trained: Vec<String> = step
        .trained
        .iter()
        .map(|&(p, ..)| step.graph.info(p).name.clone())
        .collect();
    assert!(
        !trained
            .iter()
            .any(|n| n.starts_with("enc") && n.contains(".bn.")),
        "{trained:?}"
    );
    assert!(
        trained.iter().any(|n| n.starts_with("dec2.bn.")),
        "{trained:?}"
    );
    check_step(tiny(Mode::FineTune), 22);
}

#[test]
fn resumed_run_matches_uninterrupted_run_exactly() {
    let Some(ctx) = gpu() else { return };
    let step = TrainStep::build(&tiny(Mode::Train)).unwrap();
    let mut rng = Rng::new(31);
    let vals = values(&step, &mut rng);
    let losses: Vec<TensorId> = step.losses.to_array().to_vec();
    let fresh = || {
        let exec = Executor::new(&ctx, &step.graph, &losses).unwrap();
        for (t, v) in &vals {
            exec.write(*t, &to_f32(v)).unwrap();
        }
        exec
    };
    let run = |exec: &Executor, t: u64| {
        exec.write(step.adam_step, &adam_step_scalars(2e-4, t, 1.0))
            .unwrap();
        exec.run_with_scalars(&losses).wait().unwrap()
    };
    // Uninterrupted: steps 1, 2, 3.
    let a = fresh();
    let mut a_losses = Vec::new();
    for t in 1..=3 {
        a_losses = run(&a, t);
    }
    // Interrupted after step 1: checkpoint to disk, new executor, steps 2, 3.
    let b = fresh();
    run(&b, 1);
    let dir = common::Scratch::new("resume");
    let path = dir.join("latest.safetensors");
    step.download_checkpoint(&b, 1)
        .unwrap()
        .write(&path)
        .unwrap();
    let ck = pconv::model::Checkpoint::read(&path).unwrap();
    assert_eq!(ck.step, 1);
    let c = fresh();
    step.upload_checkpoint(&c, &ck).unwrap();
    let mut c_losses = Vec::new();
    for t in 2..=3 {
        c_losses = run(&c, t);
    }
    assert_eq!(a_losses, c_losses, "losses after resuming");
    for (name, t) in step.net.named_tensors() {
        assert_eq!(
            a.read(t).unwrap(),
            c.read(t).unwrap(),
            "{name} after resuming"
        );
    }
    for &(p, _, m, v) in &step.trained {
        let name = &step.graph.info(p).name;
        assert_eq!(a.read(m).unwrap(), c.read(m).unwrap(), "adam.m.{name}");
        assert_eq!(a.read(v).unwrap(), c.read(v).unwrap(), "adam.v.{name}");
    }
    // A checkpoint of another configuration is refused.
    let other = TrainStep::build(&TrainStepConfig {
        net: UNetConfig {
            levels: 2,
            width: 1.0 / 16.0,
        },
        ..tiny(Mode::Train)
    })
    .unwrap();
    let err = other
        .upload_checkpoint(&Executor::new(&ctx, &other.graph, &[]).unwrap(), &ck)
        .unwrap_err();
    assert!(err.to_string().contains("levels 3"), "{err}");
}

/// With `ema`, every network tensor's average after each step is
/// decay · average + (1 − decay) · the tensor as the step left it (weights
/// after Adam, BatchNorm statistics after the forward pass). The GPU's
/// f32 average drifts from the f64 sum by a few roundings per step: 1e-6
/// of the largest value over two steps.
#[test]
fn the_moving_average_follows_every_step() {
    let Some(ctx) = gpu() else { return };
    let step = TrainStep::build(&TrainStepConfig {
        ema: Some(0.75),
        accumulate: false,
        loss_scaling: false,
        ..tiny(Mode::Train)
    })
    .unwrap();
    assert_eq!(step.averages.len(), step.net.named_tensors().len());
    let exec = Executor::new(&ctx, &step.graph, &[]).unwrap();
    let mut rng = Rng::new(31);
    for (t, v) in values(&step, &mut rng) {
        exec.write(t, &to_f32(&v)).unwrap();
    }
    let mut want: Vec<Vec<f64>> = Vec::new();
    for &(t, avg) in &step.averages {
        let w = exec.read(t).unwrap();
        exec.write(avg, &w).unwrap();
        want.push(w.iter().map(|&x| x as f64).collect());
    }
    let before = exec.read(step.averages[0].0).unwrap();
    for s in 1..=2 {
        exec.write(step.adam_step, &adam_step_scalars(1e-2, s, 1.0))
            .unwrap();
        exec.run();
        for (avg, &(t, _)) in want.iter_mut().zip(&step.averages) {
            for (a, w) in avg.iter_mut().zip(exec.read(t).unwrap()) {
                *a = 0.75 * *a + 0.25 * w as f64;
            }
        }
    }
    assert_ne!(
        before,
        exec.read(step.averages[0].0).unwrap(),
        "weights moved"
    );
    for (avg, &(t, a)) in want.iter().zip(&step.averages) {
        let name = &step.graph.info(t).name;
        assert_close(&format!("ema.{name}"), &exec.read(a).unwrap(), avg, 1e-6);
    }
}

#[test]
fn profile_splits_a_step_into_its_four_phases() {
    let Some(ctx) = gpu() else { return };
    let step = TrainStep::build(&tiny(Mode::Train)).unwrap();
    let [loss, backward] = step.phase_starts;
    assert!(0 < loss && loss < backward && backward < step.graph.nodes.len());
    let exec = Executor::new(&ctx, &step.graph, &[]).unwrap();
    let mut rng = Rng::new(25);
    for (t, v) in values(&step, &mut rng) {
        exec.write(t, &to_f32(&v)).unwrap();
    }
    let profile = exec.profile().unwrap();
    let phases = pconv::bench::phase_seconds(&profile, &step);
    let total: f64 = profile.dispatches.iter().map(|d| d.seconds).sum();
    assert!(
        (phases.iter().sum::<f64>() - total).abs() <= 1e-9 * total.max(1.0),
        "{phases:?} vs {total}"
    );
    // Every phase ran something: one dispatch at least each.
    let adam = profile
        .dispatches
        .iter()
        .filter(|d| d.kernel.is_optimiser())
        .count();
    assert_eq!(adam, step.trained.len());
    for (i, name) in ["forward", "loss", "backward"].iter().enumerate() {
        let [lo, hi] = [
            [0, loss],
            [loss, backward],
            [backward, step.graph.nodes.len()],
        ][i];
        assert!(
            profile
                .dispatches
                .iter()
                .any(|d| (lo..hi).contains(&d.node) && !d.kernel.is_optimiser()),
            "no {name} dispatch"
        );
    }
}
