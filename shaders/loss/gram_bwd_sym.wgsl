// S = gG + gG^T for the texel variant of gram_bwd.wgsl: rows of S[z, c, :]
// as `c_pitch4` texels each of a texel array (common/texels.wgsl), zero
// past c.
#import index
#import texels

struct Params {
    n: u32,
    c: u32,
    c_pitch4: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gg: array<f32>;
@group(0) @binding(2) var s: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.n * p.c * p.c_pitch4) {
        return;
    }
    let zr = i / p.c_pitch4;
    let z = zr / p.c;
    let row = zr % p.c;
    let base = z * p.c * p.c;
    var v = vec4<f32>(0.0);
    for (var t = 0u; t < 4u; t++) {
        let d = (i % p.c_pitch4) * 4u + t;
        if (d < p.c) {
            v[t] = gg[base + row * p.c + d] + gg[base + d * p.c + row];
        }
    }
    textureStore(s, texel_at(i), v);
}
