//! `cargo bench`: GFLOP/s of conv forward, backward-data and backward-weight
//! at the layer shapes of the 256x256 network (same as `pconv bench --kernels`).
fn main() {
    let ctx = match pconv::gpu::GpuContext::new() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("no GPU: {e}");
            std::process::exit(1);
        }
    };
    let reps = std::env::var("PCONV_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    if let Err(e) = pconv::bench::run_kernel_bench(&ctx, reps, None) {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}
