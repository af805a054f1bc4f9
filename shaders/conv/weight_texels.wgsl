// Packs convolution weights into the texel array (common/texels.wgsl) the
// row kernels' `texels` variants read: for channel group cg (`group`
// output channels), input channel ci, kernel row ky and lane r of 8, the
// `per_lane` floats f = kx * G + g (G = group / 8) hold
// w[cg * group + 8 g + r, ci, ky, kx], zero past c_out, padded to whole
// texels, so that lane r fetches its channels' taps of one kernel row in
// one to three texels and the others take them by subgroupBroadcast.
// `mode` 1 reads w as the transposed convolution's weights
// w'[co, ci, ky, kx] = w[ci, co, k-1-ky, k-1-kx] (backward-data of a
// stride-1 convolution runs on the forward kernel; w is [c_in, c_out, k, k]
// there); `mode` 2 as w'[co, ci, ky, kx] = w[ci, co, ky, kx] (the stride-2
// backward-data kernel's lanes run over w's input channels).
#import index
#import texels

struct Params {
    // Of the packed convolution (after `flip`).
    c_out: u32,
    c_in: u32,
    k: u32,
    // 0: w as it is; 1: transposed and flipped; 2: transposed.
    mode: u32,
    group: u32,
    // Texels per (cg, ci, ky, lane): ceil(k * group / 8 / 4).
    texels: u32,
    // Texels in all.
    len: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var y: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.len) {
        return;
    }
    let slot = i / p.texels;
    let lane = slot % 8u;
    let ky = (slot / 8u) % p.k;
    let ci = (slot / (8u * p.k)) % p.c_in;
    let cg = slot / (8u * p.k * p.c_in);
    let per_group = p.group / 8u;
    var v = vec4<f32>(0.0);
    for (var q = 0u; q < 4u; q++) {
        let f = (i % p.texels) * 4u + q;
        let kx = f / per_group;
        let co = cg * p.group + 8u * (f % per_group) + lane;
        if (kx < p.k && co < p.c_out) {
            if (p.mode == 1u) {
                v[q] = w[((ci * p.c_out + co) * p.k + p.k - 1u - ky) * p.k + p.k - 1u - kx];
            } else if (p.mode == 2u) {
                v[q] = w[((ci * p.c_out + co) * p.k + ky) * p.k + kx];
            } else {
                v[q] = w[((co * p.c_in + ci) * p.k + ky) * p.k + kx];
            }
        }
    }
    textureStore(y, texel_at(i), v);
}
