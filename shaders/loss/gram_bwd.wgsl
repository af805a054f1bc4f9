// Backward of the Gram matrix:
// gF[z, c, q] = scale * sum_d (gG[z, c, d] + gG[z, d, c]) F[z, d, q].
// `tiled` (GPUs): the workgroup-memory GEMM; `texels` (CPU adapters with
// texel arrays, common/texels.wgsl): S = gG + gG^T with rows of `c_pitch4`
// texels (gram_bwd_sym.wgsl) and F with rows of `pitch4` texels (a multiple
// of 2), 8x8 register tiles fed by 16 fetches per 4 channels d; else the
// register-tile GEMM on buffers.
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
    c_pitch4: u32,
    pitch4: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#ifdef texels
#import texels
@group(0) @binding(1) var s_tex: texture_2d<f32>;
@group(0) @binding(2) var f_tex: texture_2d<f32>;
#else
@group(0) @binding(1) var<storage, read> gg: array<f32>;
@group(0) @binding(2) var<storage, read> f: array<IN1>;
#endif
#ifdef vec4
// `vec4` (with `texels`, positions a multiple of 4): rows of whole vec4s.
@group(0) @binding(3) var<storage, read_write> gf4: array<vec4<f32>>;
#else
@group(0) @binding(3) var<storage, read_write> gf: array<OUT1>;

fn store_c(z: u32, row: u32, col: u32, v: f32) { gf[(z * p.c + row) * p.hw + col] = out1(v * p.scale); }
#endif

#ifdef texels
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let z = gid.z;
    let row0 = gid.y * 8u;
    let col0 = gid.x * 8u;
    if (row0 >= p.c || col0 >= p.hw) {
        return;
    }
    // Row i's columns col0..col0+3 in acc[2i], col0+4..col0+7 in acc[2i+1].
    var acc: array<vec4<f32>, 16>;
    for (var i = 0u; i < 16u; i++) {
        acc[i] = vec4<f32>(0.0);
    }
    for (var d4 = 0u; d4 < p.c_pitch4; d4++) {
        var s: array<vec4<f32>, 8>;
        for (var i = 0u; i < 8u; i++) {
            s[i] = textureLoad(s_tex, texel_at((z * p.c + min(row0 + i, p.c - 1u)) * p.c_pitch4 + d4), 0);
        }
        for (var t = 0u; t < 4u; t++) {
            // Channels past c have zero weights in S; clamp their rows.
            let fr = (z * p.c + min(d4 * 4u + t, p.c - 1u)) * p.pitch4 + col0 / 4u;
            let b0 = textureLoad(f_tex, texel_at(fr), 0);
            let b1 = textureLoad(f_tex, texel_at(fr + 1u), 0);
            for (var i = 0u; i < 8u; i++) {
                acc[2u * i] = acc[2u * i] + s[i][t] * b0;
                acc[2u * i + 1u] = acc[2u * i + 1u] + s[i][t] * b1;
            }
        }
    }
#ifdef vec4
    // Two vec4 stores a row; where hw is an odd multiple of 4 the last
    // tile's second half lies past the row.
    for (var i = 0u; i < 8u; i++) {
        if (row0 + i < p.c) {
            let at = ((z * p.c + row0 + i) * p.hw + col0) / 4u;
            gf4[at] = acc[2u * i] * p.scale;
            if (col0 + 4u < p.hw) {
                gf4[at + 1u] = acc[2u * i + 1u] * p.scale;
            }
        }
    }
#else
    for (var i = 0u; i < 8u; i++) {
        for (var j = 0u; j < 8u; j++) {
            if (row0 + i < p.c && col0 + j < p.hw) {
                store_c(z, row0 + i, col0 + j, acc[2u * i + j / 4u][j % 4u]);
            }
        }
    }
#endif
}
#else
fn gemm_m() -> u32 { return p.c; }
fn gemm_n() -> u32 { return p.hw; }
fn load_a(z: u32, row: u32, d: u32) -> f32 {
    let base = z * p.c * p.c;
    return gg[base + row * p.c + d] + gg[base + d * p.c + row];
}
fn load_b(z: u32, d: u32, q: u32) -> f32 { return f32(f[(z * p.c + d) * p.hw + q]); }
#endif

#ifdef tiled
// B = F[z, d, q] is contiguous along q (the GEMM's columns).
const B_ALONG_K: bool = false;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    // The reduction runs over channels (at most a few hundred): one chunk.
    gemm_tiled(wg, lid, wg.z, 0u, p.c, wg.z);
}
#endif
#ifndef tiled
#ifndef texels
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    // The reduction runs over channels (at most a few hundred): one chunk.
    gemm_register(gid, gid.z, 0u, p.c, gid.z);
}
#endif
#endif
