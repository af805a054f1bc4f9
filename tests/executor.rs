//! Executor behaviour a caller relies on: clear errors for work beyond the
//! device's limits and for wrong uploads, one submit per run, and scalars
//! that come back asynchronously.
mod common;

use common::gpu;
use pconv::gpu::Executor;
use pconv::graph::Graph;
use pconv::Error;

#[test]
fn tensor_beyond_binding_limit_is_a_clear_error() {
    let Some(ctx) = gpu() else { return };
    let limit = ctx
        .limits()
        .max_storage_buffer_binding_size
        .min(ctx.limits().max_buffer_size);
    let side = ((limit / 4) as f64).sqrt() as usize + 64;
    let mut g = Graph::new();
    let x = g.input("huge", &[1, 1, side, side]);
    g.relu(x).unwrap();
    match Executor::new(&ctx, &g, &[]) {
        // The limit is named; the library suggests no flag (a command
        // that has them adds its own).
        Err(e @ Error::TooLarge { .. }) => {
            assert!(e.is_too_large());
            let text = e.to_string();
            assert!(
                text.contains("huge") && text.contains(&limit.to_string()),
                "{text}"
            );
            assert!(!text.contains("--"), "{text}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a {side}x{side} tensor should exceed the {limit}-byte binding limit"),
    }
}

#[test]
fn wrong_upload_length_is_an_error() {
    let Some(ctx) = gpu() else { return };
    let mut g = Graph::new();
    let x = g.input("x", &[1, 1, 2, 3]);
    g.relu(x).unwrap();
    let exec = Executor::new(&ctx, &g, &[]).unwrap();
    let err = exec.write(x, &[1.0; 5]).unwrap_err();
    assert!(err.to_string().contains("holds 6 values"), "{err}");
}

#[test]
fn scalars_arrive_asynchronously_and_runs_replay() {
    let Some(ctx) = gpu() else { return };
    let mut g = Graph::new();
    let a = g.input("a", &[1, 1, 4, 4]);
    let b = g.input("b", &[1, 1, 4, 4]);
    let loss = g.l1_mean(a, b, pconv::ops::L1Weight::None, None).unwrap();
    let exec = Executor::new(&ctx, &g, &[loss]).unwrap();
    assert_eq!(exec.dispatch_count(), 2, "partial sums + final sum");
    exec.write(b, &[0.0; 16]).unwrap();
    for step in 1..=3 {
        exec.write(a, &[step as f32; 16]).unwrap();
        let pending = exec.run_with_scalars(&[loss]);
        let mut got = None;
        for _ in 0..10_000 {
            if let Some(v) = pending.try_get().unwrap() {
                got = Some(v);
                break;
            }
            std::thread::yield_now();
        }
        let v = match got {
            Some(v) => v,
            None => pending.wait().unwrap(),
        };
        assert_eq!(v, vec![step as f32]);
    }
}

#[test]
fn scalar_read_back_buffers_are_reused() {
    let Some(ctx) = common::gpu() else { return };
    let mut g = pconv::graph::Graph::new();
    let a = g.input("a", &[1]);
    let b = g.axpby(2.0, a, 0.0, None).unwrap();
    let exec = pconv::gpu::Executor::new(&ctx, &g, &[b]).unwrap();
    for i in 0..5 {
        exec.write(a, &[i as f32]).unwrap();
        // Two steps in flight at once need two buffers; each comes back.
        let p1 = exec.run_with_scalars(&[b]);
        let p2 = exec.run_with_scalars(&[b]);
        assert_eq!(p1.wait().unwrap(), vec![2.0 * i as f32]);
        assert_eq!(p2.wait().unwrap(), vec![2.0 * i as f32]);
    }
    assert_eq!(exec.scalar_buffers_created(), 2);
}

/// Threads that wait for scalars on one shared device: a map callback can
/// run on the thread whose poll delivered it, after the waiting thread's
/// own poll returned (a trainer test hit this on CI).
#[test]
fn scalars_arrive_when_several_threads_poll_one_device() {
    let Some(ctx) = common::gpu() else { return };
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                let mut g = Graph::new();
                let a = g.input("a", &[1]);
                let b = g.axpby(3.0, a, 0.0, None).unwrap();
                let exec = Executor::new(&ctx, &g, &[b]).unwrap();
                for i in 0..100 {
                    let x = (t * 1000 + i) as f32;
                    exec.write(a, &[x]).unwrap();
                    assert_eq!(exec.run_with_scalars(&[b]).wait().unwrap(), vec![3.0 * x]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn profile_times_every_dispatch_with_its_layer() {
    let Some(ctx) = gpu() else { return };
    let mut g = Graph::new();
    let x = g.input("x", &[2, 3, 33, 40]);
    let w = g.param("w", &[16, 3, 3, 3], true);
    let y = g.conv2d(x, w, None, 1, 1).unwrap();
    let r = g.relu(y).unwrap();
    let exec = Executor::new(&ctx, &g, &[r]).unwrap();
    exec.write(x, &vec![0.5; 2 * 3 * 33 * 40]).unwrap();
    exec.write(w, &vec![0.1; 16 * 27]).unwrap();
    let profile = exec.profile().unwrap();
    // CPU adapters are timed by the host (lavapipe's timestamps misplace time).
    assert_eq!(
        profile.gpu_timestamps,
        ctx.device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
            && !ctx.is_cpu()
    );
    assert_eq!(profile.dispatches.len(), exec.dispatch_count());
    for d in &profile.dispatches {
        assert!(d.seconds.is_finite() && d.seconds >= 0.0, "{d:?}");
    }
    let total: f64 = profile.dispatches.iter().map(|d| d.seconds).sum();
    assert!(
        total > 0.0,
        "a 2x16x33x40 convolution took no time: {profile:?}"
    );
    let last = profile.dispatches.last().unwrap();
    assert!(last.label.contains("[2, 16, 33, 40]"), "{}", last.label);
    // Profiling ran the graph: 27 taps of 0.1 x 0.5 inside, fewer at borders.
    let out = exec.read(r).unwrap();
    let max = out.iter().fold(0.0f32, |m, &v| m.max(v));
    assert!((max - 1.35).abs() < 1e-4, "max {max}");
    assert!(out.iter().all(|&v| (0.0..=1.3501).contains(&v)));
}

/// Weights packed for the texel row kernels are packed once (a prologue
/// of the first run), and again after the weights are written: a run after
/// new weights computes with them, a run after new inputs alone reuses the
/// packing.
#[test]
fn hoisted_weight_packing_follows_weight_writes() {
    use pconv::graph::cpu::CpuExecutor;
    let Some(ctx) = gpu() else { return };
    let mut g = Graph::new();
    let x = g.input("x", &[1, 16, 32, 64]);
    let w = g.param("w", &[8, 16, 3, 3], false);
    let y = g.conv2d(x, w, None, 1, 1).unwrap();
    // The texel row kernel where the device has texel arrays (lavapipe),
    // else the buffer kernels, whose weights are read where they are.
    let traits = ctx.traits();
    let exec = Executor::with_traits(&ctx, &g, &[y], &traits).unwrap();
    let packs = exec.prologue_count();
    if traits.texel_rows > 0 && traits.subgroups_8_to_64 {
        assert_eq!(packs, 1, "one weight packing, hoisted");
    }
    let mut rng = common::Rng::new(9);
    let mut cpu = CpuExecutor::new(&g);
    let mut check = |exec: &Executor, xv: &[f64], wv: &[f64], what: &str| {
        cpu.set(x, xv).unwrap();
        cpu.set(w, wv).unwrap();
        cpu.run(&g);
        exec.run();
        common::assert_close(what, &exec.read(y).unwrap(), cpu.get(y), 1e-5);
    };
    let (x1, w1) = (rng.values(16 * 32 * 64), rng.values(8 * 16 * 9));
    exec.write(x, &common::to_f32(&x1)).unwrap();
    exec.write(w, &common::to_f32(&w1)).unwrap();
    check(&exec, &x1, &w1, "first run");
    let x2 = rng.values(16 * 32 * 64);
    exec.write(x, &common::to_f32(&x2)).unwrap();
    check(&exec, &x2, &w1, "new input, packing reused");
    let w2 = rng.values(8 * 16 * 9);
    exec.write(w, &common::to_f32(&w2)).unwrap();
    check(&exec, &x2, &w2, "new weights, packed again");
}

/// Several tensors read in one wait come back concatenated in the order
/// asked, as reading them one by one gives them; none gives nothing.
#[test]
fn tensors_read_together_equal_tensors_read_alone() {
    let Some(ctx) = gpu() else { return };
    let mut g = Graph::new();
    let a = g.input("a", &[3]);
    let b = g.input("b", &[2, 5]);
    let c = g.input("c", &[1]);
    let exec = Executor::new(&ctx, &g, &[]).unwrap();
    exec.write(a, &[1.0, 2.0, 3.0]).unwrap();
    exec.write(b, &(0..10).map(|i| i as f32 * 0.5).collect::<Vec<_>>())
        .unwrap();
    exec.write(c, &[-7.0]).unwrap();
    let alone: Vec<f32> = [c, a, b]
        .iter()
        .flat_map(|&t| exec.read(t).unwrap())
        .collect();
    assert_eq!(exec.read_all(&[c, a, b]).unwrap(), alone);
    assert_eq!(alone[..4], [-7.0, 1.0, 2.0, 3.0]);
    assert!(exec.read_all(&[]).unwrap().is_empty());
}
