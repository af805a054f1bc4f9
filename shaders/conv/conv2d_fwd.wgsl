// Convolution forward as an implicit GEMM with register blocking:
// y[z, co, p] = sum_{ci,ky,kx} w[co, ci, ky, kx] * x[z, ci, iy, ix] (+ bias[co]).
// Each invocation computes 8 output channels x 8 consecutive output pixels
// (flattened, so narrow maps waste nothing) straight from memory, the
// accumulators in vec4 registers. With `subgroup` defined (adapters with
// subgroups of 8 to 64 lanes) lane r loads weight row co0 + r once and the
// other lanes take it by subgroupBroadcast; without, every lane loads it.
// Grid: x = pixel groups of 8 (64 per workgroup), y = channel groups of 8, z = image.
// With `flat` (maps of fewer than 64 pixel groups, where most lanes of such
// a workgroup would idle) x runs over (channel group, pixel group) pairs and
// y is 1; `flat` with `subgroup` only where the host knows subgroups are runs
// of consecutive lanes that divide the pixel groups, so they share channels.
// With `texels` (CPU adapters, with `subgroup`) the padded input is a
// texel array (common/texels.wgsl; `w` is its row pitch, a multiple of 4),
// whose fetches are some 8x cheaper than buffer loads on lavapipe.
// Split-K: z = split * n + image sums input channels [split * ci_chunk, +
// ci_chunk) into y[z] (partial outputs that sum_splits adds; the bias goes
// with split 0); with one split, y is the output.
struct Params {
    c_in: u32,
    h: u32,
    w: u32,
    c_out: u32,
    h_out: u32,
    w_out: u32,
    k: u32,
    stride: u32,
    pad: u32,
    has_bias: u32,
    ci_chunk: u32,
    n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#ifdef texels
#import texels
@group(0) @binding(1) var x_tex: texture_2d<f32>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// The input is zero-padded beforehand (pad2d), so every window lies inside
// it and loads need no bounds checks; `p.pad` is 0 here.
fn load_x(plane: i32, iy: i32, ix: i32) -> f32 {
#ifdef texels
    let i = u32(plane + iy * i32(p.w) + ix);
    return textureLoad(x_tex, texel_at(i / 4u), 0)[i % 4u];
#else
    return x[u32(plane + iy * i32(p.w) + ix)];
#endif
}

@compute @workgroup_size(64)
#ifdef subgroup
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
#else
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
#endif
    let pixels = p.h_out * p.w_out;
#ifdef flat
    let groups = (pixels + 7u) / 8u;
    let p0 = (gid.x % groups) * 8u;
    let co0 = (gid.x / groups) * 8u;
#else
    let p0 = gid.x * 8u;
    let co0 = gid.y * 8u;
#endif
    let img = gid.z % p.n;
    let ci_begin = (gid.z / p.n) * p.ci_chunk;
    let ci_end = min(ci_begin + p.ci_chunk, p.c_in);
#ifdef subgroup
    // Out-of-range lanes keep running (clamped) so that broadcasts stay uniform.
#endif
    var iy0: array<i32, 8>;
    var ix0: array<i32, 8>;
    for (var j = 0u; j < 8u; j++) {
        let pix = min(p0 + j, pixels - 1u);
        iy0[j] = i32((pix / p.w_out) * p.stride) - i32(p.pad);
        ix0[j] = i32((pix % p.w_out) * p.stride) - i32(p.pad);
    }
    let kk_total = p.c_in * p.k * p.k;
#ifdef subgroup
    let my_row = min(co0 + lane % 8u, p.c_out - 1u) * kk_total;
#endif
    var acc0a = vec4<f32>(0.0);
    var acc0b = vec4<f32>(0.0);
    var acc1a = vec4<f32>(0.0);
    var acc1b = vec4<f32>(0.0);
    var acc2a = vec4<f32>(0.0);
    var acc2b = vec4<f32>(0.0);
    var acc3a = vec4<f32>(0.0);
    var acc3b = vec4<f32>(0.0);
    var acc4a = vec4<f32>(0.0);
    var acc4b = vec4<f32>(0.0);
    var acc5a = vec4<f32>(0.0);
    var acc5b = vec4<f32>(0.0);
    var acc6a = vec4<f32>(0.0);
    var acc6b = vec4<f32>(0.0);
    var acc7a = vec4<f32>(0.0);
    var acc7b = vec4<f32>(0.0);
    for (var ci = ci_begin; ci < ci_end; ci++) {
        let plane = i32((img * p.c_in + ci) * p.h * p.w);
        for (var ky = 0u; ky < p.k; ky++) {
            for (var kx = 0u; kx < p.k; kx++) {
                let kidx = (ci * p.k + ky) * p.k + kx;
#ifdef subgroup
                let w_lane = weight[my_row + kidx];
#endif
                let b0 = vec4<f32>(load_x(plane, iy0[0] + i32(ky), ix0[0] + i32(kx)), load_x(plane, iy0[1] + i32(ky), ix0[1] + i32(kx)), load_x(plane, iy0[2] + i32(ky), ix0[2] + i32(kx)), load_x(plane, iy0[3] + i32(ky), ix0[3] + i32(kx)));
                let b1 = vec4<f32>(load_x(plane, iy0[4] + i32(ky), ix0[4] + i32(kx)), load_x(plane, iy0[5] + i32(ky), ix0[5] + i32(kx)), load_x(plane, iy0[6] + i32(ky), ix0[6] + i32(kx)), load_x(plane, iy0[7] + i32(ky), ix0[7] + i32(kx)));
#ifdef subgroup
                let a0 = subgroupBroadcast(w_lane, 0u);
#else
                let a0 = weight[min(co0 + 0u, p.c_out - 1u) * kk_total + kidx];
#endif
                acc0a = acc0a + a0 * b0;
                acc0b = acc0b + a0 * b1;
#ifdef subgroup
                let a1 = subgroupBroadcast(w_lane, 1u);
#else
                let a1 = weight[min(co0 + 1u, p.c_out - 1u) * kk_total + kidx];
#endif
                acc1a = acc1a + a1 * b0;
                acc1b = acc1b + a1 * b1;
#ifdef subgroup
                let a2 = subgroupBroadcast(w_lane, 2u);
#else
                let a2 = weight[min(co0 + 2u, p.c_out - 1u) * kk_total + kidx];
#endif
                acc2a = acc2a + a2 * b0;
                acc2b = acc2b + a2 * b1;
#ifdef subgroup
                let a3 = subgroupBroadcast(w_lane, 3u);
#else
                let a3 = weight[min(co0 + 3u, p.c_out - 1u) * kk_total + kidx];
#endif
                acc3a = acc3a + a3 * b0;
                acc3b = acc3b + a3 * b1;
#ifdef subgroup
                let a4 = subgroupBroadcast(w_lane, 4u);
#else
                let a4 = weight[min(co0 + 4u, p.c_out - 1u) * kk_total + kidx];
#endif
                acc4a = acc4a + a4 * b0;
                acc4b = acc4b + a4 * b1;
#ifdef subgroup
                let a5 = subgroupBroadcast(w_lane, 5u);
#else
                let a5 = weight[min(co0 + 5u, p.c_out - 1u) * kk_total + kidx];
#endif
                acc5a = acc5a + a5 * b0;
                acc5b = acc5b + a5 * b1;
#ifdef subgroup
                let a6 = subgroupBroadcast(w_lane, 6u);
#else
                let a6 = weight[min(co0 + 6u, p.c_out - 1u) * kk_total + kidx];
#endif
                acc6a = acc6a + a6 * b0;
                acc6b = acc6b + a6 * b1;
#ifdef subgroup
                let a7 = subgroupBroadcast(w_lane, 7u);
#else
                let a7 = weight[min(co0 + 7u, p.c_out - 1u) * kk_total + kidx];
#endif
                acc7a = acc7a + a7 * b0;
                acc7b = acc7b + a7 * b1;
            }
        }
    }
    if (p0 >= pixels) {
        return;
    }
    store_row(gid.z, co0 + 0u, p0, acc0a, acc0b);
    store_row(gid.z, co0 + 1u, p0, acc1a, acc1b);
    store_row(gid.z, co0 + 2u, p0, acc2a, acc2b);
    store_row(gid.z, co0 + 3u, p0, acc3a, acc3b);
    store_row(gid.z, co0 + 4u, p0, acc4a, acc4b);
    store_row(gid.z, co0 + 5u, p0, acc5a, acc5b);
    store_row(gid.z, co0 + 6u, p0, acc6a, acc6b);
    store_row(gid.z, co0 + 7u, p0, acc7a, acc7b);
}

// Slot z of y: the output image, or a split's partial output.
fn store_row(z: u32, co: u32, p0: u32, a: vec4<f32>, b: vec4<f32>) {
    if (co >= p.c_out) {
        return;
    }
    var add = 0.0;
    if (p.has_bias != 0u && z < p.n) {
        add = bias[co];
    }
    let pixels = p.h_out * p.w_out;
    let base = (z * p.c_out + co) * pixels + p0;
    for (var j = 0u; j < 4u; j++) {
        if (p0 + j < pixels) {
            y[base + j] = a[j] + add;
        }
        if (p0 + 4u + j < pixels) {
            y[base + 4u + j] = b[j] + add;
        }
    }
}
