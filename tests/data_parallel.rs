//! Gradient accumulation and data parallelism (`train::parallel`): the
//! split step computes what the fused step does, micro-batches combine
//! exactly, a batch that does not split is refused, and (with
//! `--features mpi`) N ranks under mpirun equal one process with
//! `--accum N`, bit for bit.
mod common;

use common::{gpu, Rng};
use pconv::gpu::GpuContext;
use pconv::model::Mode;
use pconv::train::parallel::{accumulated_step, micro_batch, SingleProcess};
use pconv::train::session::TrainSession;
use pconv::train::TrainStepConfig;

fn config(batch: usize, accumulate: bool) -> TrainStepConfig {
    TrainStepConfig {
        batch,
        ema: Some(0.5),
        accumulate,
        loss_scaling: false,
        ..common::tiny_step(Mode::Train)
    }
}

/// A compiled session with seeded weights and a random (seeded) VGG.
fn session(ctx: &GpuContext, batch: usize, accumulate: bool) -> TrainSession {
    common::seeded_session(ctx, &config(batch, accumulate))
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
    assert!(e.contains("3 ranks × --accum 1"), "{e}");
}

/// `pconv --headless train` on 8 small images, `extra` added, under
/// `mpirun -np ranks` where `ranks` > 0; the exit status and stderr.
#[cfg(feature = "mpi")]
fn train(
    data: &std::path::Path,
    out: &std::path::Path,
    ranks: usize,
    extra: &[&str],
) -> (bool, String) {
    train_with(data, out, ranks, extra, &[])
}

/// `train` with environment variables `env` added.
#[cfg(feature = "mpi")]
fn train_with(
    data: &std::path::Path,
    out: &std::path::Path,
    ranks: usize,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (bool, String) {
    let mut args: Vec<String> = Vec::new();
    let mut cmd = if ranks > 0 {
        // A job that hangs fails the test (exit 124) instead of the suite.
        args.extend(
            [
                "-k",
                "5",
                "120",
                "mpirun",
                "--oversubscribe",
                "--bind-to",
                "none",
                "-np",
            ]
            .map(String::from),
        );
        args.push(ranks.to_string());
        args.push(env!("CARGO_BIN_EXE_pconv").into());
        std::process::Command::new("timeout")
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_pconv"))
    };
    args.extend(
        [
            "--headless",
            "train",
            "--size",
            "16",
            "--levels",
            "2",
            "--width",
            "0.0625",
            "--seed",
            "4",
            "--checkpoint-every",
            "1",
        ]
        .map(String::from),
    );
    args.extend(["--data".into(), data.display().to_string()]);
    args.extend(["--out".into(), out.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = cmd
        .args(&args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .envs(env.iter().copied())
        .output()
        .expect("mpirun (Open MPI) is on PATH where --features mpi is tested");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// Eight 20x20 images of seeded noise in a folder.
#[cfg(feature = "mpi")]
fn images(dir: &std::path::Path) -> std::path::PathBuf {
    let data = dir.join("images");
    std::fs::create_dir_all(&data).unwrap();
    let mut rng = Rng::new(21);
    for i in 0..8 {
        let img = image::RgbImage::from_fn(20, 20, |_, _| {
            image::Rgb([0, 1, 2].map(|_| (rng.uniform() * 255.0) as u8))
        });
        img.save(data.join(format!("{i}.png"))).unwrap();
    }
    data
}

/// Every tensor of a run's last checkpoint (weights, BatchNorm statistics,
/// Adam moments, averages) as bits.
#[cfg(feature = "mpi")]
fn model_bits(out: &std::path::Path) -> Vec<(String, Vec<u32>)> {
    let ck = pconv::model::Checkpoint::read(&out.join("latest.safetensors")).unwrap();
    let bits = |t: &pconv::io::safetensors::Tensor| t.data.iter().map(|v| v.to_bits()).collect();
    let mut all: Vec<(String, Vec<u32>)> = ck
        .tensors
        .iter()
        .map(|(n, t)| (n.clone(), bits(t)))
        .collect();
    for (n, (m, v)) in &ck.adam.as_ref().unwrap().moments {
        all.push((format!("adam.m.{n}"), bits(m)));
        all.push((format!("adam.v.{n}"), bits(v)));
    }
    all
}

/// 2 ranks × 2 images, and 3 ranks × 1 image, train exactly what one
/// process trains with `--accum 2` and `--accum 3` on the same global
/// batches; the whole batch on one process without accumulation (other
/// BatchNorm statistics) trains something else.
#[cfg(feature = "mpi")]
#[test]
fn mpi_ranks_equal_one_process_with_accumulation() {
    let dir = common::Scratch::new("mpi-equal");
    let data = images(dir.path());
    for (ranks, batch) in [(2, "4"), (3, "3")] {
        let steps = ["--batch", batch, "--steps", "3"];
        let accum = ranks.to_string();
        let one = dir.path().join(format!("accum{ranks}"));
        let (ok, err) = train(&data, &one, 0, &[&steps[..], &["--accum", &accum]].concat());
        assert!(ok, "{err}");
        let job = dir.path().join(format!("ranks{ranks}"));
        let (ok, err) = train(&data, &job, ranks, &steps);
        assert!(ok, "{err}");
        assert_eq!(model_bits(&one), model_bits(&job), "{ranks} ranks");
        let whole = dir.path().join(format!("whole{ranks}"));
        assert!(train(&data, &whole, 0, &steps).0);
        assert_ne!(model_bits(&one), model_bits(&whole));
    }
    // MPI's own all-reduce (PCONV_ALLREDUCE=mpi) trains too, in the
    // library's order; a misspelt choice is refused.
    let steps = ["--batch", "4", "--steps", "2"];
    let fast = dir.path().join("allreduce");
    let (ok, err) = train_with(&data, &fast, 2, &steps, &[("PCONV_ALLREDUCE", "mpi")]);
    assert!(ok, "{err}");
    assert!(model_bits(&fast)
        .iter()
        .all(|(_, v)| v.iter().all(|b| f32::from_bits(*b).is_finite())));
    let (ok, err) = train_with(&data, &fast, 2, &steps, &[("PCONV_ALLREDUCE", "ring")]);
    assert!(!ok && err.contains("PCONV_ALLREDUCE=ring"), "{err}");
    // An error on one rank (rank 0 refuses a folder that holds a run) ends
    // the whole job at once, rather than leaving rank 1 waiting for it.
    let t0 = std::time::Instant::now();
    let (ok, err) = train(
        &data,
        &dir.path().join("ranks2"),
        2,
        &["--batch", "4", "--steps", "1"],
    );
    assert!(!ok && err.contains("already holds a run"), "{err}");
    assert!(
        t0.elapsed().as_secs() < 60,
        "the job ended by its timeout: {err}"
    );
    // A global batch the ranks cannot share is refused by every rank.
    let (ok, err) = train(
        &data,
        &dir.path().join("odd"),
        2,
        &["--batch", "3", "--steps", "1"],
    );
    assert!(!ok && err.contains("does not split into 2 ranks"), "{err}");
}

/// A rank killed mid-run ends the whole job with an error, and the last
/// checkpoint rank 0 wrote is intact.
#[cfg(feature = "mpi")]
#[test]
fn a_killed_rank_ends_the_job_and_keeps_the_checkpoint() {
    let dir = common::Scratch::new("mpi-kill");
    let data = images(dir.path());
    let out = dir.path().join("run");
    let job = {
        let out = out.clone();
        std::thread::spawn(move || train(&data, &out, 2, &["--batch", "2", "--steps", "100000"]))
    };
    // Wait for a checkpoint, then kill rank 1.
    let latest = out.join("latest.safetensors");
    let t0 = std::time::Instant::now();
    while !latest.exists() {
        assert!(
            t0.elapsed().as_secs() < 120,
            "no checkpoint within 2 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let rank1 = rank_pid(1).expect("rank 1 runs");
    std::process::Command::new("kill")
        .args(["-9", &rank1.to_string()])
        .status()
        .unwrap();
    let (ok, _err) = job.join().unwrap();
    assert!(!ok, "the job ends with an error");
    let ck = pconv::model::Checkpoint::read(&latest).expect("the last checkpoint is intact");
    assert!(ck.step >= 1);
}

/// The process id of this user's pconv process with MPI rank `rank`.
#[cfg(feature = "mpi")]
fn rank_pid(rank: usize) -> Option<u32> {
    let want = format!("OMPI_COMM_WORLD_RANK={rank}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let env = std::fs::read(e.path().join("environ")).ok()?;
        let is_pconv = String::from_utf8_lossy(&cmd).contains("pconv");
        let has_rank = env.split(|&b| b == 0).any(|v| v == want.as_bytes());
        (is_pconv && has_rank).then_some(pid)
    })
}
