//! The training loop on a tiny folder of images: outputs (metrics.jsonl with
//! its exact keys, sample grids, numbered and latest checkpoints), exact
//! resume after a stop, Ctrl-C-style interruption, divergence, and the
//! errors a user can cause.
mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use common::gpu;
use pconv::model::Checkpoint;
use pconv::train::{train, Control, Length, Observer, Outcome, Start, StepMetrics, TrainOptions};

fn data_folder(name: &str) -> common::Scratch {
    let dir = common::Scratch::new(&format!("trainer-{name}"));
    std::fs::create_dir_all(dir.join("images")).unwrap();
    for i in 0..5u32 {
        image::RgbImage::from_fn(20 + i, 18, |x, y| {
            image::Rgb([
                (x * 9 + i * 40) as u8,
                (y * 13) as u8,
                ((x + y) * 5 + i * 3) as u8,
            ])
        })
        .save(dir.join("images").join(format!("{i}.png")))
        .unwrap();
    }
    dir
}

fn options(dir: &Path, out: &str, steps: u64) -> TrainOptions {
    TrainOptions {
        data: vec![pconv::data::images::DataSource::new(dir.join("images"))],
        masks: None,
        exclude: None,
        size: Some(16),
        crop: None,
        batch: Some(2),
        levels: Some(2),
        width: Some(1.0 / 16.0),
        length: Some(Length::Steps(steps)),
        lr: None,
        finetune: false,
        start: Start::Fresh,
        vgg: None,
        out: dir.join(out),
        checkpoint_every: 2,
        sample_every: 3,
        seed: Some(9),
        ema: None,
        lr_schedule: None,
        accum: None,
    }
}

#[derive(Default)]
struct Record {
    steps: Vec<StepMetrics>,
    checkpoints: Vec<u64>,
    samples: Vec<u64>,
    /// Request a stop once this step has been reported.
    stop_after: Option<u64>,
    stop: Option<std::sync::Arc<AtomicBool>>,
}

impl Observer for Record {
    fn step(&mut self, m: &StepMetrics) {
        self.steps.push(m.clone());
        if Some(m.step) == self.stop_after {
            if let Some(s) = &self.stop {
                s.store(true, Ordering::SeqCst);
            }
        }
    }
    fn sample(&mut self, step: u64, path: &Path, grid: &image::RgbImage) {
        assert!(path.exists());
        assert_eq!(grid.width(), 4 * 16 + 3 * 2);
        self.samples.push(step);
    }
    fn checkpoint(&mut self, step: u64, _path: &Path) {
        self.checkpoints.push(step);
    }
}

fn metrics_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn a_run_writes_metrics_samples_and_checkpoints_and_resumes_exactly() {
    let Some(ctx) = gpu() else { return };
    let dir = data_folder("resume");
    let never = AtomicBool::new(false);

    // Uninterrupted: 5 steps.
    let mut full = Record::default();
    let outcome = train(&ctx, &options(&dir, "full", 5), &mut full, &never).unwrap();
    let full_ck = dir.join("full/latest.safetensors");
    assert_eq!(
        outcome,
        Outcome::Finished {
            step: 5,
            checkpoint: full_ck.clone()
        }
    );
    assert_eq!(full.checkpoints, vec![2, 4, 5]);
    assert_eq!(full.samples, vec![3]);
    assert!(dir
        .join("full/checkpoints/step-0000002.safetensors")
        .exists());
    assert!(dir.join("full/samples/step-0000003.png").exists());
    let lines = metrics_lines(&dir.join("full/metrics.jsonl"));
    assert_eq!(lines.len(), 5);
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "hole",
            "images_per_s",
            "lr",
            "perc",
            "step",
            "style_comp",
            "style_out",
            "total",
            "tv",
            "valid"
        ]
    );
    for (i, m) in full.steps.iter().enumerate() {
        assert_eq!(m.step, i as u64 + 1);
        assert!(m.is_finite() && m.total() > 0.0);
        assert_eq!(m.lr, 2e-4);
    }
    let ck = Checkpoint::read(&full_ck).unwrap();
    assert_eq!(ck.step, 5);
    assert_eq!(ck.adam.as_ref().unwrap().step, 5);
    assert_eq!(ck.extra.get("train.seed").map(String::as_str), Some("9"));

    // Interrupted after step 3 (as Ctrl-C does), then resumed to step 5.
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let mut part = Record {
        stop_after: Some(2),
        stop: Some(stop.clone()),
        ..Default::default()
    };
    let outcome = train(&ctx, &options(&dir, "part", 5), &mut part, &stop).unwrap();
    let Outcome::Interrupted { step, checkpoint } = outcome else {
        panic!("expected an interruption, got {outcome:?}")
    };
    // The stop lands while the next step is already queued; it completes.
    assert!((2..=3).contains(&step), "stopped after step {step}");
    assert_eq!(Checkpoint::read(&checkpoint).unwrap().step, step);
    // Starting afresh in a folder that holds a run is refused.
    let err = train(
        &ctx,
        &options(&dir, "part", 5),
        &mut Record::default(),
        &never,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--resume"), "{err}");

    let mut rest = Record::default();
    let resumed = TrainOptions {
        start: Start::Resume(checkpoint),
        // As `pconv train --resume CK` alone: the run's own settings.
        levels: None,
        width: None,
        size: None,
        batch: None,
        seed: None,
        ..options(&dir, "part", 5)
    };
    train(&ctx, &resumed, &mut rest, &never).unwrap();
    assert_eq!(rest.steps.first().map(|m| m.step), Some(step + 1));
    let resumed_lines = metrics_lines(&dir.join("part/metrics.jsonl"));
    assert_eq!(resumed_lines.len(), 5, "every step once");
    for (a, b) in full.steps.iter().zip(part.steps.iter().chain(&rest.steps)) {
        assert_eq!(
            (a.step, a.losses),
            (b.step, b.losses),
            "losses at step {}",
            a.step
        );
    }
    let resumed_ck = Checkpoint::read(&dir.join("part/latest.safetensors")).unwrap();
    assert_eq!(resumed_ck.tensors, ck.tensors, "weights after resuming");
    assert_eq!(resumed_ck.adam, ck.adam, "Adam state after resuming");

    // --init takes the weights only: a new optimiser and step 0.
    let mut init = Record::default();
    let from = TrainOptions {
        start: Start::Init(full_ck.clone()),
        levels: None,
        width: None,
        checkpoint_every: 100,
        ..options(&dir, "init", 1)
    };
    train(&ctx, &from, &mut init, &never).unwrap();
    let after = Checkpoint::read(&dir.join("init/latest.safetensors")).unwrap();
    assert_eq!((after.step, after.adam.unwrap().step), (1, 1));
}

/// `--ema`, `--lr-schedule cosine` and `--accum 2`: the rate falls from
/// 2e-4 to a hundredth of it over the run, checkpoints carry the average,
/// and a run stopped early and resumed with `--resume` alone (its own
/// steps, decay, schedule and micro-batches) ends bit for bit where the
/// uninterrupted one does.
#[test]
fn the_weights_average_the_rate_schedule_and_the_crop_scale_resume_exactly() {
    let Some(ctx) = gpu() else { return };
    let dir = data_folder("ema");
    let never = AtomicBool::new(false);
    let with = |out: &str| TrainOptions {
        ema: Some(0.9),
        lr_schedule: Some(pconv::train::LrSchedule::Cosine),
        accum: Some(2),
        crop: Some(pconv::data::images::Crop::Scale { min: 1.0, max: 2.0 }),
        ..options(&dir, out, 4)
    };
    let mut full = Record::default();
    train(&ctx, &with("full"), &mut full, &never).unwrap();
    let lrs: Vec<f64> = full.steps.iter().map(|m| m.lr).collect();
    assert_eq!(lrs[0], 2e-4);
    assert!((lrs[3] - 2e-6).abs() < 1e-15, "{lrs:?}");
    assert!(lrs.windows(2).all(|w| w[1] < w[0]), "{lrs:?}");
    let ck = Checkpoint::read(&dir.join("full/latest.safetensors")).unwrap();
    let ema = ck.ema.clone().expect("the checkpoint carries the average");
    assert_eq!(ck.extra["train.micro_batches"], "2");
    assert_eq!(ck.extra["train.crop_scale"], "1:2");
    assert_ne!(ema, ck.tensors);
    assert_eq!(
        ck.clone().for_inference().tensors,
        ema,
        "inference runs the average"
    );

    let (part, checkpoint) = stopped_after_step_1(&ctx, &with("part"));
    let mut rest = Record::default();
    let resumed = TrainOptions {
        start: Start::Resume(checkpoint),
        length: None,
        ema: None,
        lr_schedule: None,
        seed: None,
        ..options(&dir, "part", 4)
    };
    train(&ctx, &resumed, &mut rest, &never).unwrap();
    let lrs_resumed: Vec<f64> = part.steps.iter().chain(&rest.steps).map(|m| m.lr).collect();
    assert_eq!(lrs_resumed, lrs);
    let back = Checkpoint::read(&dir.join("part/latest.safetensors")).unwrap();
    assert_eq!(back.step, 4);
    assert_eq!(back.tensors, ck.tensors, "weights");
    assert_eq!(back.ema, ck.ema, "average");
    assert_eq!(back.adam, ck.adam, "Adam state");
}

/// Trains with `opts` until step 1 is reported, then stops as Ctrl-C
/// would; the steps seen and the checkpoint saved on stopping.
fn stopped_after_step_1(
    ctx: &pconv::gpu::GpuContext,
    opts: &TrainOptions,
) -> (Record, std::path::PathBuf) {
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let mut part = Record {
        stop_after: Some(1),
        stop: Some(stop.clone()),
        ..Default::default()
    };
    let outcome = train(ctx, opts, &mut part, &stop).unwrap();
    let Outcome::Interrupted { checkpoint, .. } = outcome else {
        panic!("expected an interruption, got {outcome:?}")
    };
    (part, checkpoint)
}

#[test]
fn rate_schedules_by_step() {
    use pconv::train::LrSchedule::{Constant, Cosine, Step};
    let at = |s: pconv::train::LrSchedule, step| s.lr(1.0, step, 300);
    assert_eq!((at(Constant, 1), at(Constant, 300)), (1.0, 1.0));
    // A tenth once two thirds of the steps are done.
    assert_eq!(
        (at(Step, 200), at(Step, 201), at(Step, 300)),
        (1.0, 0.1, 0.1)
    );
    assert_eq!(at(Cosine, 1), 1.0);
    assert!((at(Cosine, 300) - 0.01).abs() < 1e-12);
    assert!(
        (at(Cosine, 150) - 0.505).abs() < 0.01,
        "{}",
        at(Cosine, 150)
    );
    assert!(pconv::train::LrSchedule::parse("linear").is_err());
}

#[test]
fn divergence_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint() {
    let Some(ctx) = gpu() else { return };
    let dir = data_folder("nan");
    let opts = TrainOptions {
        lr: Some(1e30),
        checkpoint_every: 1,
        ..options(&dir, "out", 20)
    };
    let err = train(&ctx, &opts, &mut Record::default(), &AtomicBool::new(false)).unwrap_err();
    assert!(matches!(err, pconv::Error::NonFinite(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("non-finite") && text.contains("--lr"),
        "{text}"
    );
    // Whatever checkpoint exists holds finite weights.
    if let Ok(ck) = Checkpoint::read(&dir.join("out/latest.safetensors")) {
        assert!(ck
            .tensors
            .values()
            .all(|t| t.data.iter().all(|v| v.is_finite())));
    }
}

#[test]
fn bad_options_are_clear_errors() {
    let Some(ctx) = gpu() else { return };
    let dir = data_folder("bad");
    let never = AtomicBool::new(false);
    let run = |o: TrainOptions| {
        train(&ctx, &o, &mut Record::default(), &never)
            .unwrap_err()
            .to_string()
    };
    let err = run(TrainOptions {
        size: Some(18),
        ..options(&dir, "a", 1)
    });
    assert!(err.contains("multiple of 4"), "{err}");
    let err = run(TrainOptions {
        data: vec![pconv::data::images::DataSource::new(dir.join("missing"))],
        ..options(&dir, "b", 1)
    });
    assert!(err.contains("missing"), "{err}");
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let err = run(TrainOptions {
        data: vec![pconv::data::images::DataSource::new(dir.join("empty"))],
        ..options(&dir, "c", 1)
    });
    assert!(err.contains("no images"), "{err}");
    std::fs::write(dir.join("all.txt"), "0.png\n1.png\n2.png\n3.png\n4.png\n").unwrap();
    let err = run(TrainOptions {
        exclude: Some(dir.join("all.txt")),
        ..options(&dir, "x", 1)
    });
    assert!(err.contains("excluded"), "{err}");
    let err = run(TrainOptions {
        lr: Some(-1.0),
        ..options(&dir, "d", 1)
    });
    assert!(err.contains("--lr"), "{err}");
    let err = run(TrainOptions {
        start: Start::Resume(dir.join("nothing.safetensors")),
        ..options(&dir, "e", 1)
    });
    assert!(err.contains("nothing.safetensors"), "{err}");
}

/// Pauses for six polls once two steps are reported, then asks for a
/// checkpoint once three are (the dashboard's buttons).
#[derive(Default)]
struct Controller {
    pause_polls: usize,
    steps_seen: Vec<u64>,
    checkpoints: Vec<u64>,
}

impl Observer for Controller {
    fn step(&mut self, m: &StepMetrics) {
        self.steps_seen.push(m.step);
    }
    fn checkpoint(&mut self, step: u64, _path: &Path) {
        self.checkpoints.push(step);
    }
    fn control(&mut self) -> Control {
        let seen = self.steps_seen.len();
        if seen >= 2 && self.pause_polls < 6 {
            self.pause_polls += 1;
            Control::Pause
        } else if seen >= 3 && self.checkpoints.is_empty() {
            Control::SaveNow
        } else {
            Control::Continue
        }
    }
}

#[test]
fn pause_waits_and_save_now_writes_a_checkpoint_between_steps() {
    let Some(ctx) = common::gpu() else { return };
    let dir = data_folder("control");
    let never = AtomicBool::new(false);
    let opts = TrainOptions {
        checkpoint_every: 100,
        sample_every: 100,
        ..options(&dir, "run", 5)
    };
    let mut c = Controller::default();
    let started = std::time::Instant::now();
    train(&ctx, &opts, &mut c, &never).unwrap();
    assert_eq!(c.steps_seen, vec![1, 2, 3, 4, 5]);
    // Paused: polled again every 50 ms until the observer let go.
    assert_eq!(c.pause_polls, 6);
    assert!(started.elapsed() >= std::time::Duration::from_millis(250));
    // "Save now" wrote the checkpoint of the last finished step (periodic
    // saves are every 100 steps); the end of the run wrote step 5's.
    assert_eq!(c.checkpoints.len(), 2, "{:?}", c.checkpoints);
    let saved = c.checkpoints[0];
    assert!((3..=4).contains(&saved), "saved at step {saved}");
    assert_eq!(c.checkpoints[1], 5);
    let ck = Checkpoint::read(&dir.join(format!("run/checkpoints/step-{saved:07}.safetensors")))
        .unwrap();
    assert_eq!(ck.step, saved);
}

/// Mixed-precision training (f16 convolutions, dynamic loss scaling; on
/// lavapipe the plain-arithmetic twin): every step logs its loss scale,
/// checkpoints carry it, and a run stopped after step 1 and resumed ends
/// with the weights, moving averages and Adam state of the uninterrupted
/// run, also with gradients accumulated over micro-batches.
#[test]
fn mixed_precision_runs_log_the_loss_scale_and_resume_exactly() {
    let Some(ctx) = gpu() else { return };
    if !ctx.mixed_precision().f16 {
        assert!(
            std::env::var("PCONV_REQUIRE_GPU").as_deref() != Ok("1"),
            "PCONV_REQUIRE_GPU=1 but the adapter has no f16"
        );
        return;
    }
    let mut ctx = ctx.clone();
    ctx.set_precision(pconv::gpu::Precision::Mixed).unwrap();
    let dir = data_folder("mixed");
    let never = AtomicBool::new(false);
    let with = |out: &str| TrainOptions {
        ema: Some(0.9),
        accum: Some(2),
        ..options(&dir, out, 3)
    };
    let mut full = Record::default();
    train(&ctx, &with("full"), &mut full, &never).unwrap();
    assert_eq!(full.steps.len(), 3);
    for m in &full.steps {
        let (scale, skipped) = m
            .loss_scale
            .expect("a mixed-precision step logs its loss scale");
        assert!(scale >= 1.0 && skipped >= 0.0, "{m:?}");
    }
    let line = &metrics_lines(&dir.join("full/metrics.jsonl"))[0];
    assert!(
        line.contains("\"loss_scale\"") && line.contains("\"skipped_steps\""),
        "{line}"
    );
    let ck = Checkpoint::read(&dir.join("full/latest.safetensors")).unwrap();
    let logged = full.steps[2].loss_scale.unwrap().0;
    assert_eq!(ck.extra["train.loss_scale"].parse::<f64>().unwrap(), logged);

    let (_, checkpoint) = stopped_after_step_1(&ctx, &with("part"));
    let resumed = TrainOptions {
        start: Start::Resume(checkpoint),
        length: None,
        ema: None,
        accum: None,
        seed: None,
        ..options(&dir, "part", 3)
    };
    let mut rest = Record::default();
    train(&ctx, &resumed, &mut rest, &never).unwrap();
    let back = Checkpoint::read(&dir.join("part/latest.safetensors")).unwrap();
    assert_eq!(back.step, 3);
    assert_eq!(back.tensors, ck.tensors, "weights");
    assert_eq!(back.ema, ck.ema, "average");
    assert_eq!(back.adam, ck.adam, "Adam state");
    assert_eq!(back.extra["train.loss_scale"], ck.extra["train.loss_scale"]);
}

/// BatchNorm recalibration against the f64 CPU twin of the training
/// forward: each statistic it writes is the mean over its batches of that
/// batch's mean and unbiased variance, every layer normalised as training
/// normalises it: all BatchNorms for a run trained from scratch; after
/// fine-tuning the decoder's alone, the encoder's kept bit for bit.
#[test]
fn recalibrated_statistics_are_the_mean_of_each_batchs() {
    use pconv::data::images::{source_files, BatchSpec, Crop, DataSource, ImageLoader};
    use pconv::data::masks::MaskSource;
    use pconv::graph::{cpu::CpuExecutor, Graph};
    use pconv::model::{Mode, UNet, UNetConfig};
    use pconv::train::recalibrate::{recalibrate_batch_norm, RecalibrationOptions};

    let Some(ctx) = gpu() else { return };
    let dir = data_folder("recalibrate");
    let files = source_files(&[DataSource::new(dir.join("images"))]).unwrap();
    let config = UNetConfig {
        levels: 3,
        width: 1.0 / 16.0,
    };
    let (batch, size, seed) = (2, 16, 3);
    for finetune in [false, true] {
        let mut ck = Checkpoint::initial(config, 5).unwrap();
        // Statistics unlike any batch's, so a layer left alone shows.
        for (name, t) in ck.tensors.iter_mut() {
            if name.contains("running") {
                t.data.iter_mut().for_each(|v| *v = 3.5);
            }
        }
        if finetune {
            ck.extra.insert("train.finetune".into(), "true".into());
        }
        let opts = RecalibrationOptions {
            files: files.clone(),
            masks: MaskSource::GENERATED,
            images: 5,
            batch,
            size,
            crop: Crop::Full,
            seed,
        };
        let (got, done) = recalibrate_batch_norm(&ctx, ck.clone(), &opts, &mut |_, _| {}).unwrap();
        assert_eq!(done.images, 6, "5 images are 3 whole batches of 2");
        let mode = if finetune {
            Mode::FineTune
        } else {
            Mode::Train
        };
        assert_eq!(done.mode, mode);

        let mut g = Graph::new();
        let image = g.input("image", &[batch, 3, size, size]);
        let mask = g.input("mask", &[batch, 1, size, size]);
        let net = UNet::declare(&mut g, config, mode).unwrap();
        net.forward(&mut g, image, mask, mode).unwrap();
        g.set_batch_norm_momentum(1.0);
        let spec = BatchSpec {
            batch,
            size,
            crop: Crop::Full,
            seed,
            share: None,
        };
        let mut loader = ImageLoader::start(files.clone(), MaskSource::GENERATED, spec, 0, 1);
        let named = net.named_tensors();
        let mut sums = std::collections::BTreeMap::<String, Vec<f64>>::new();
        for _ in 0..3 {
            let b = loader.next_batch().unwrap();
            let mut cpu = CpuExecutor::new(&g);
            for (name, t) in &named {
                let v: Vec<f64> = ck.tensors[name].data.iter().map(|&x| x as f64).collect();
                cpu.set(*t, &v).unwrap();
            }
            let f64s = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
            cpu.set(image, &f64s(&b.images)).unwrap();
            cpu.set(mask, &f64s(&b.masks)).unwrap();
            cpu.run(&g);
            for (name, t) in named.iter().filter(|(n, _)| n.contains("running")) {
                let s = sums
                    .entry(name.clone())
                    .or_insert(vec![0.0; cpu.get(*t).len()]);
                s.iter_mut()
                    .zip(cpu.get(*t))
                    .for_each(|(s, v)| *s += v / 3.0);
            }
        }
        let mut layers = Vec::new();
        for (name, want) in &sums {
            let layer = name.split('.').next().unwrap();
            if finetune && layer.starts_with("enc") {
                assert_eq!(got.tensors[name].data, ck.tensors[name].data, "{name} kept");
                continue;
            }
            // f32 on the GPU against f64: each value passes through at most
            // 6 convolutions and statistics of at most 576-term sums, so a
            // worst-case relative error of 6 · 576 · 2^-24 ≈ 2e-4.
            common::assert_close(name, &got.tensors[name].data, want, 2e-4);
            if !layers.contains(&layer.to_string()) {
                layers.push(layer.to_string());
            }
        }
        let mut reported = done.layers.clone();
        reported.sort();
        assert_eq!(reported, layers);
        assert_eq!(got.extra["bn.recalibrated_images"], "6");
        // Every other tensor is the checkpoint's.
        for (name, t) in &got.tensors {
            if !name.contains("running") {
                assert_eq!(t.data, ck.tensors[name].data, "{name}");
            }
        }
    }
}
