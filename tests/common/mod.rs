//! Shared test helpers: the GPU (required when PCONV_REQUIRE_GPU=1), a
//! seeded RNG, and tolerant comparisons.
#![allow(dead_code)]
use std::sync::OnceLock;

pub mod photo_metadata;

use pconv::gpu::GpuContext;
use pconv::model::SplitMix64;

/// The test device, shared by the tests of one binary. Without an adapter
/// the GPU tests skip, unless PCONV_REQUIRE_GPU=1 makes that a failure. It
/// computes in f32 even where PCONV_PRECISION=mixed opened it (with
/// cooperative matrices, where the adapter has them): tests ask for mixed
/// precision explicitly.
pub fn gpu() -> Option<GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    let ctx = CTX.get_or_init(|| match GpuContext::new() {
        Ok(mut c) => {
            c.set_precision(pconv::gpu::Precision::F32).unwrap();
            Some(c)
        }
        Err(e) => {
            eprintln!("no GPU: {e}");
            None
        }
    });
    if ctx.is_none() && std::env::var("PCONV_REQUIRE_GPU").as_deref() == Ok("1") {
        panic!("PCONV_REQUIRE_GPU=1 but no GPU adapter could be opened");
    }
    if ctx.is_none() {
        eprintln!("skipping GPU test: no adapter (set PCONV_REQUIRE_GPU=1 to fail instead)");
    }
    ctx.clone()
}

/// The crate's seeded generator with test helpers.
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(SplitMix64(seed))
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0.uniform()
    }
    /// Uniform in [-1, 1), rounded to f32 so CPU and GPU see the same value.
    pub fn values(&mut self, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| (self.uniform() * 2.0 - 1.0) as f32 as f64)
            .collect()
    }
    /// A binary mask (1 = known) with about `hole_ratio` holes in random
    /// rectangles, some touching the borders.
    pub fn mask(&mut self, n: usize, h: usize, w: usize, hole_ratio: f64) -> Vec<f64> {
        let mut m = vec![1.0; n * h * w];
        if hole_ratio >= 1.0 {
            return vec![0.0; n * h * w];
        }
        for img in 0..n {
            let mut holes = 0usize;
            let target = (hole_ratio * (h * w) as f64) as usize;
            let mut guard = 0;
            while holes < target && guard < 1000 {
                guard += 1;
                let rh = 1 + (self.uniform() * (h as f64 / 2.0)) as usize;
                let rw = 1 + (self.uniform() * (w as f64 / 2.0)) as usize;
                let y0 = (self.uniform() * (h + 1 - rh.min(h)) as f64) as usize;
                let x0 = (self.uniform() * (w + 1 - rw.min(w)) as f64) as usize;
                for y in y0..(y0 + rh).min(h) {
                    for x in x0..(x0 + rw).min(w) {
                        let at = (img * h + y) * w + x;
                        if m[at] == 1.0 {
                            m[at] = 0.0;
                            holes += 1;
                        }
                    }
                }
            }
        }
        m
    }
}

pub fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Asserts |got − want| ≤ tol · max(1, max|want|) elementwise; tol is
/// relative to the tensor's scale because f32 sums of many terms lose
/// absolute, not relative-per-element, precision.
pub fn assert_close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want
        .iter()
        .filter(|v| v.is_finite())
        .fold(1.0f64, |m, v| m.max(v.abs()));
    let mut worst = (0.0f64, 0usize);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        // Non-finite only where the twin is too, of the same kind.
        if !g.is_finite() || !w.is_finite() {
            let same = (g.is_nan() && w.is_nan()) || g as f64 == w;
            assert!(same, "{what}[{i}] is {g}, want {w}");
            continue;
        }
        let e = (g as f64 - w).abs();
        if e > worst.0 {
            worst = (e, i);
        }
    }
    assert!(
        worst.0 <= tol * scale,
        "{what}: max error {:.3e} at {} (got {}, want {}), allowed {:.3e}",
        worst.0,
        worst.1,
        got[worst.1],
        want[worst.1],
        tol * scale
    );
}

/// A fresh folder under the temp dir, removed when dropped, so repeated
/// test runs do not fill the disk. A failing test keeps it (and says where)
/// for inspection.
pub struct Scratch(std::path::PathBuf);

impl Scratch {
    /// `pconv-{tag}-{pid}` under the temp dir, emptied if it exists.
    pub fn new(tag: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("pconv-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for Scratch {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for inspection", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The kernel named `name` (`Kernel::name`), e.g. "conv2d_fwd_s2+k5+flat".
pub fn kernel(name: &str) -> pconv::kernels::Kernel {
    pconv::kernels::Kernel::by_name(name).unwrap_or_else(|| panic!("no kernel named {name}"))
}

/// A tiny training step: L3 width 1/16, a 3-stage VGG of 4-8 channels,
/// batch 2 of 16x24.
pub fn tiny_step(mode: pconv::model::Mode) -> pconv::train::TrainStepConfig {
    pconv::train::TrainStepConfig {
        net: pconv::model::UNetConfig {
            levels: 3,
            width: 1.0 / 16.0,
        },
        vgg: pconv::loss::VggConfig {
            channels: [4, 6, 8],
        },
        preprocess: pconv::loss::Preprocess::Torch,
        batch: 2,
        height: 16,
        width: 24,
        mode,
        ignore_unknown: false,
        ema: None,
        accumulate: false,
        loss_scaling: false,
    }
}

/// A compiled training session of `cfg` with seeded weights and a random
/// (seeded) VGG.
pub fn seeded_session(
    ctx: &GpuContext,
    cfg: &pconv::train::TrainStepConfig,
) -> pconv::train::session::TrainSession {
    let s = pconv::train::session::TrainSession::compile(ctx, cfg, false).unwrap();
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

/// Makes a named pipe at `path` (reading one blocks until a writer comes:
/// what the hang tests need).
pub fn mkfifo(path: &std::path::Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", path.display());
}
