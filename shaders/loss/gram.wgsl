// Batched Gram matrices: G[z, c, d] = sum_q F[z, c, q] F[z, d, q] / (C H W),
// the sum over q in `splits` chunks of `chunk`: grid z = split * n + image,
// and chunk s of image z goes to G[s * n + z] (summed by sum_splits).
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
    n: u32,
    chunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> f: array<f32>;
@group(0) @binding(2) var<storage, read_write> gram: array<f32>;

fn gemm_m() -> u32 { return p.c; }
fn gemm_n() -> u32 { return p.c; }
fn load_a(z: u32, row: u32, q: u32) -> f32 { return f[(z * p.c + row) * p.hw + q]; }
fn load_b(z: u32, q: u32, col: u32) -> f32 { return f[(z * p.c + col) * p.hw + q]; }
fn store_c(z: u32, row: u32, col: u32, v: f32) { gram[(z * p.c + row) * p.c + col] = v * p.scale; }

#ifdef tiled
// F is contiguous along the positions q (the GEMM's k) for both operands.
const B_ALONG_K: bool = true;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let z = wg.z % p.n;
    let k_begin = (wg.z / p.n) * p.chunk;
    gemm_tiled(wg, lid, z, k_begin, min(k_begin + p.chunk, p.hw), wg.z);
}
#else
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let z = gid.z % p.n;
    let k_begin = (gid.z / p.n) * p.chunk;
    gemm_register(gid, z, k_begin, min(k_begin + p.chunk, p.hw), gid.z);
}
#endif
