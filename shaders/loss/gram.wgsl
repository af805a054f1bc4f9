// Batched Gram matrices: G[z, c, d] = sum_q F[z, c, q] F[z, d, q] / (C H W),
// the sum over q in `splits` chunks of `chunk`: grid z = split * n + image,
// and chunk s of image z goes to G[s * n + z] (summed by sum_splits).
// `tiled` (GPUs): the workgroup-memory GEMM; `texels` (CPU adapters with
// texel arrays): F's rows zero-padded to `pitch4` texels in a texel array
// (common/texels.wgsl), 8x8 register tiles fed 4 positions per fetch;
// else the register-tile GEMM on buffers.
#import half
#ifdef tiled
#import gemm_tiled
#else
#ifndef texels
#import gemm_register
#endif
#endif

struct Params {
    c: u32,
    hw: u32,
    scale: f32,
    n: u32,
    // A multiple of 4 with `texels`.
    chunk: u32,
    pitch4: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#ifdef texels
#import texels
@group(0) @binding(1) var f_tex: texture_2d<f32>;
#else
@group(0) @binding(1) var<storage, read> f: array<IN1>;
#endif
@group(0) @binding(2) var<storage, read_write> gram: array<f32>;

fn store_c(z: u32, row: u32, col: u32, v: f32) { gram[(z * p.c + row) * p.c + col] = v * p.scale; }

#ifdef texels
// G is symmetric: invocation k of a flat grid computes tile (r, c), r <= c,
// the k-th of the upper triangle's T (T + 1) / 2 tiles of 8x8 (row by row),
// and stores it on both sides of the diagonal.
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let z = gid.z % p.n;
    let t_begin = (gid.z / p.n) * (p.chunk / 4u);
    let t_end = min(t_begin + p.chunk / 4u, p.pitch4);
    let tiles = (p.c + 7u) / 8u;
    var k = gid.x;
    if (k >= tiles * (tiles + 1u) / 2u) {
        return;
    }
    var r = 0u;
    while (k >= tiles - r) {
        k -= tiles - r;
        r++;
    }
    let row0 = r * 8u;
    let col0 = (r + k) * 8u;
    var acc: array<f32, 64>;
    for (var i = 0u; i < 64u; i++) {
        acc[i] = 0.0;
    }
    for (var t = t_begin; t < t_end; t++) {
        var a: array<vec4<f32>, 8>;
        var b: array<vec4<f32>, 8>;
        for (var i = 0u; i < 8u; i++) {
            a[i] = textureLoad(f_tex, texel_at((z * p.c + min(row0 + i, p.c - 1u)) * p.pitch4 + t), 0);
            b[i] = textureLoad(f_tex, texel_at((z * p.c + min(col0 + i, p.c - 1u)) * p.pitch4 + t), 0);
        }
        for (var i = 0u; i < 8u; i++) {
            for (var j = 0u; j < 8u; j++) {
                acc[i * 8u + j] = acc[i * 8u + j] + dot(a[i], b[j]);
            }
        }
    }
    for (var i = 0u; i < 8u; i++) {
        for (var j = 0u; j < 8u; j++) {
            if (row0 + i < p.c && col0 + j < p.c) {
                store_c(gid.z, row0 + i, col0 + j, acc[i * 8u + j]);
                store_c(gid.z, col0 + j, row0 + i, acc[i * 8u + j]);
            }
        }
    }
}
#else
fn gemm_m() -> u32 { return p.c; }
fn gemm_n() -> u32 { return p.c; }
fn load_a(z: u32, row: u32, q: u32) -> f32 { return f32(f[(z * p.c + row) * p.hw + q]); }
fn load_b(z: u32, q: u32, col: u32) -> f32 { return f32(f[(z * p.c + col) * p.hw + q]); }
#endif

#ifdef tiled
// F is contiguous along the positions q (the GEMM's k) for both operands.
const B_ALONG_K: bool = true;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let z = wg.z % p.n;
    let k_begin = (wg.z / p.n) * p.chunk;
    gemm_tiled(wg, lid, z, k_begin, min(k_begin + p.chunk, p.hw), wg.z);
}
#endif
#ifndef tiled
#ifndef texels
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let z = gid.z % p.n;
    let k_begin = (gid.z / p.n) * p.chunk;
    gemm_register(gid, z, k_begin, min(k_begin + p.chunk, p.hw), gid.z);
}
#endif
#endif
