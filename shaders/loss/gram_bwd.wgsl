// Backward of the Gram matrix:
// gF[z, c, q] = scale * sum_d (gG[z, c, d] + gG[z, d, c]) F[z, d, q].
// `tiled` (GPUs): the workgroup-memory GEMM; else the register-tile one.
#ifdef tiled
#import gemm_tiled
#else
#import gemm_register
#endif

struct Params {
    c: u32,
    hw: u32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gg: array<f32>;
@group(0) @binding(2) var<storage, read> f: array<f32>;
@group(0) @binding(3) var<storage, read_write> gf: array<f32>;

fn gemm_m() -> u32 { return p.c; }
fn gemm_n() -> u32 { return p.hw; }
fn load_a(z: u32, row: u32, d: u32) -> f32 {
    let base = z * p.c * p.c;
    return gg[base + row * p.c + d] + gg[base + d * p.c + row];
}
fn load_b(z: u32, d: u32, q: u32) -> f32 { return f[(z * p.c + d) * p.hw + q]; }
fn store_c(z: u32, row: u32, col: u32, v: f32) { gf[(z * p.c + row) * p.hw + col] = v * p.scale; }

#ifdef tiled
// B = F[z, d, q] is contiguous along q (the GEMM's columns).
const B_ALONG_K: bool = false;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    // The reduction runs over channels (at most a few hundred): one chunk.
    gemm_tiled(wg, lid, wg.z, 0u, p.c, wg.z);
}
#else
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    // The reduction runs over channels (at most a few hundred): one chunk.
    gemm_register(gid, gid.z, 0u, p.c, gid.z);
}
#endif
