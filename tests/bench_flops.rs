//! FLOP counts match the PyTorch baseline's (bench_torch.py, whose numbers
//! are copied here), so GFLOP/s compare line by line.
use pconv::bench::flops::step_gflop;
use pconv::model::UNetConfig;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn flop_counts_match_bench_torch() {
    let l7 = UNetConfig {
        levels: 7,
        width: 1.0,
    };
    let g = step_gflop(l7, 256, 1, true);
    for (got, want) in [
        (g.unet_fwd, 18.943705088),
        (g.unet_bwd, 37.579128832),
        (g.vgg_fwd, 73.157050368),
        (g.vgg_bwd, 48.771366912),
        (g.gram, 2.01326592),
        (g.total, 180.46451712),
    ] {
        assert!(close(got, want), "{got} vs {want}");
    }
    let small = step_gflop(
        UNetConfig {
            levels: 5,
            width: 0.25,
        },
        64,
        8,
        true,
    );
    assert!(close(small.unet_fwd, 0.620560384) && close(small.total, 63.793987584));
    let infer = step_gflop(l7, 512, 1, false);
    assert!(close(infer.total, 75.774820352) && infer.vgg_fwd == 0.0);
}
