// The smallest use of the cooperative-matrix instruction the mixed-precision
// kernels rely on: one subgroup computes d = a b + c for one 16x16x16 tile
// (a, b f16; c, d f32; all row-major), loading a and b straight from
// storage or, with `staged`, from workgroup memory as conv2d_mma does. Run
// beside the conv kernels on a GPU, it tells a driver's fault in the
// instruction from one in pconv's kernel.
enable f16;
enable wgpu_cooperative_matrix;

struct Params {
    // Row stride of every matrix (16).
    stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f16>;
@group(0) @binding(2) var<storage, read> b: array<f16>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> d: array<f32>;

#ifdef staged
var<workgroup> a_tile: array<f16, 256>;
var<workgroup> b_tile: array<f16, 256>;
#endif

@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) lid: u32) {
    // A `let`, not p.stride inline: naga 30.0.2's SPIR-V writer panics on a
    // cooperative load whose stride is a uniform load written in place
    // ("Expression [N] is not cached"; tests/shaders_validate.rs keeps the
    // minimal case).
    let stride = p.stride;
#ifdef staged
    for (var i = lid; i < 256u; i += 32u) {
        a_tile[i] = a[i];
        b_tile[i] = b[i];
    }
    workgroupBarrier();
    let ma = coopLoadT<coop_mat16x16<f16, A>>(&a_tile[0], stride);
    let mb = coopLoadT<coop_mat16x16<f16, B>>(&b_tile[0], stride);
#else
    let ma = coopLoadT<coop_mat16x16<f16, A>>(&a[0], stride);
    let mb = coopLoadT<coop_mat16x16<f16, B>>(&b[0], stride);
#endif
    var mc = coopLoadT<coop_mat16x16<f32, C>>(&c[0], stride);
    mc = coopMultiplyAdd(ma, mb, mc);
    coopStoreT(mc, &d[0], stride);
}
