// The cooperative-matrix instruction's throughput through wgpu, naga and
// the driver, as `bench --peak` times it: each group of 32 invocations
// (one subgroup) loads two A and two B tiles (16x16 f16, row-major) and
// runs `iters` rounds of four multiply-adds into four f32 accumulators;
// with `staged` it reloads its tiles from workgroup memory every round, as
// the convolution kernels do. On small integers the result is exact: each
// accumulator is iters times its tiles' product (a test checks it). Every
// workgroup writes the same values to d[group][tile][256].
enable f16;
enable wgpu_cooperative_matrix;

struct Params {
    iters: u32,
    // 0: the staged loads' offset is k * zero, which a compiler cannot
    // prove constant, so it cannot hoist them out of the loop.
    zero: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// Two tiles each, one after the other.
@group(0) @binding(1) var<storage, read> a: array<f16>;
@group(0) @binding(2) var<storage, read> b: array<f16>;
@group(0) @binding(3) var<storage, read_write> d: array<f32>;

var<workgroup> a_tile: array<f16, 512>;
var<workgroup> b_tile: array<f16, 512>;

@compute @workgroup_size(128)
fn main(@builtin(local_invocation_index) lid: u32) {
    for (var i = lid; i < 512u; i += 128u) {
        a_tile[i] = a[i];
        b_tile[i] = b[i];
    }
    workgroupBarrier();
    var a0 = coopLoadT<coop_mat16x16<f16, A>>(&a_tile[0], 16u);
    var a1 = coopLoadT<coop_mat16x16<f16, A>>(&a_tile[256], 16u);
    var b0 = coopLoadT<coop_mat16x16<f16, B>>(&b_tile[0], 16u);
    var b1 = coopLoadT<coop_mat16x16<f16, B>>(&b_tile[256], 16u);
    var c00 = coop_mat16x16<f32, C>();
    var c01 = coop_mat16x16<f32, C>();
    var c10 = coop_mat16x16<f32, C>();
    var c11 = coop_mat16x16<f32, C>();
    let iters = p.iters;
    let zero = p.zero;
    for (var k = 0u; k < iters; k++) {
#ifdef staged
        let o = (k * zero) & 248u;
        a0 = coopLoadT<coop_mat16x16<f16, A>>(&a_tile[o], 16u);
        a1 = coopLoadT<coop_mat16x16<f16, A>>(&a_tile[256u + o], 16u);
        b0 = coopLoadT<coop_mat16x16<f16, B>>(&b_tile[o], 16u);
        b1 = coopLoadT<coop_mat16x16<f16, B>>(&b_tile[256u + o], 16u);
#endif
        c00 = coopMultiplyAdd(a0, b0, c00);
        c01 = coopMultiplyAdd(a0, b1, c01);
        c10 = coopMultiplyAdd(a1, b0, c10);
        c11 = coopMultiplyAdd(a1, b1, c11);
    }
    let base = (lid / 32u) * 1024u;
    coopStoreT(c00, &d[base], 16u);
    coopStoreT(c01, &d[base + 256u], 16u);
    coopStoreT(c10, &d[base + 512u], 16u);
    coopStoreT(c11, &d[base + 768u], 16u);
}
