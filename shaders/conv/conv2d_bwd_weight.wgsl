// Convolution backward-weight with register blocking and split-K:
// gw[co, (ci, ky, kx)] = sum_{n, oy, ox} gy[n, co, oy, ox] * x[n, ci, iy, ix].
// Each invocation computes 8 output channels x 8 consecutive (ci, ky, kx)
// columns, summing over the output rows [z * rows_per_split, ...) of the
// flattened (n, oy) range; chunk z writes out[z] (summed by sum_splits when
// there is more than one chunk), so small weight tensors still fill the device.
// Accumulators live in vec4 registers. With `subgroup` defined, lane r loads
// gy of channel co0 + r and the other lanes take it by subgroupBroadcast.
// With `texels` (CPU adapters, with `subgroup`) x is its zero-padded copy
// in a texel array (common/texels.wgsl, rows of `pitch` floats): no bounds
// checks, and fetches some 8x cheaper than buffer loads on lavapipe.
// Grid: x = column groups of 8 (64 per workgroup), y = channel groups of 8, z = chunk.
struct Params {
    n: u32,
    c_in: u32,
    h: u32,
    w: u32,
    c_out: u32,
    h_out: u32,
    w_out: u32,
    k: u32,
    stride: u32,
    pad: u32,
    rows_per_split: u32,
    // `texels`: the padded copy's row pitch (floats).
    pitch: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
#ifdef texels
#import texels
@group(0) @binding(2) var x_tex: texture_2d<f32>;
#else
@group(0) @binding(2) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
#ifdef subgroup
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
#else
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
#endif
    let taps = p.k * p.k;
    let cols = p.c_in * taps;
    let c0 = gid.x * 8u;
    let co0 = gid.y * 8u;
#ifdef subgroup
    // Lanes past the last column keep running (clamped) so that the
    // broadcasts below stay in uniform control flow; subgroups wholly past
    // it leave (the 7x7 layer's 147 columns fill 3 of a workgroup's 8).
    if (co0 >= p.c_out || subgroupAll(c0 >= cols)) {
#else
    if (c0 >= cols || co0 >= p.c_out) {
#endif
        return;
    }
    // Per column: input channel and tap offsets (into the padded copy with
    // `texels`).
#ifdef texels
    let origin = 0;
#else
    let origin = i32(p.pad);
#endif
    var ci: array<u32, 8>;
    var dy: array<i32, 8>;
    var dx: array<i32, 8>;
    for (var j = 0u; j < 8u; j++) {
        let col = min(c0 + j, cols - 1u);
        ci[j] = col / taps;
        dy[j] = i32((col % taps) / p.k) - origin;
        dx[j] = i32(col % p.k) - origin;
    }
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
    let out_plane = p.h_out * p.w_out;
    let row_begin = gid.z * p.rows_per_split;
    let row_end = min(row_begin + p.rows_per_split, p.n * p.h_out);
    for (var row = row_begin; row < row_end; row++) {
        let img = row / p.h_out;
        let oy = row % p.h_out;
        var xrow: array<i32, 8>;
        for (var j = 0u; j < 8u; j++) {
            let iy = i32(oy * p.stride) + dy[j];
#ifdef texels
            xrow[j] = i32(((img * p.c_in + ci[j]) * (p.h + 2u * p.pad) + u32(iy)) * p.pitch);
#else
            if (iy >= 0 && iy < i32(p.h)) {
                xrow[j] = i32(((img * p.c_in + ci[j]) * p.h + u32(iy)) * p.w);
            } else {
                xrow[j] = -1;
            }
#endif
        }
        var grow: array<u32, 8>;
        for (var r = 0u; r < 8u; r++) {
            grow[r] = (img * p.c_out + min(co0 + r, p.c_out - 1u)) * out_plane + oy * p.w_out;
        }
        for (var ox = 0u; ox < p.w_out; ox++) {
            let sx = i32(ox * p.stride);
            let b0 = vec4<f32>(load_x(xrow[0], sx + dx[0]), load_x(xrow[1], sx + dx[1]), load_x(xrow[2], sx + dx[2]), load_x(xrow[3], sx + dx[3]));
            let b1 = vec4<f32>(load_x(xrow[4], sx + dx[4]), load_x(xrow[5], sx + dx[5]), load_x(xrow[6], sx + dx[6]), load_x(xrow[7], sx + dx[7]));
#ifdef subgroup
            let gy_lane = gy[grow[lane % 8u] + ox];
            let a0 = subgroupBroadcast(gy_lane, 0u);
#else
            let a0 = gy[grow[0] + ox];
#endif
            acc0a = acc0a + a0 * b0;
            acc0b = acc0b + a0 * b1;
#ifdef subgroup
            let a1 = subgroupBroadcast(gy_lane, 1u);
#else
            let a1 = gy[grow[1] + ox];
#endif
            acc1a = acc1a + a1 * b0;
            acc1b = acc1b + a1 * b1;
#ifdef subgroup
            let a2 = subgroupBroadcast(gy_lane, 2u);
#else
            let a2 = gy[grow[2] + ox];
#endif
            acc2a = acc2a + a2 * b0;
            acc2b = acc2b + a2 * b1;
#ifdef subgroup
            let a3 = subgroupBroadcast(gy_lane, 3u);
#else
            let a3 = gy[grow[3] + ox];
#endif
            acc3a = acc3a + a3 * b0;
            acc3b = acc3b + a3 * b1;
#ifdef subgroup
            let a4 = subgroupBroadcast(gy_lane, 4u);
#else
            let a4 = gy[grow[4] + ox];
#endif
            acc4a = acc4a + a4 * b0;
            acc4b = acc4b + a4 * b1;
#ifdef subgroup
            let a5 = subgroupBroadcast(gy_lane, 5u);
#else
            let a5 = gy[grow[5] + ox];
#endif
            acc5a = acc5a + a5 * b0;
            acc5b = acc5b + a5 * b1;
#ifdef subgroup
            let a6 = subgroupBroadcast(gy_lane, 6u);
#else
            let a6 = gy[grow[6] + ox];
#endif
            acc6a = acc6a + a6 * b0;
            acc6b = acc6b + a6 * b1;
#ifdef subgroup
            let a7 = subgroupBroadcast(gy_lane, 7u);
#else
            let a7 = gy[grow[7] + ox];
#endif
            acc7a = acc7a + a7 * b0;
            acc7b = acc7b + a7 * b1;
        }
#ifdef subgroup
    }
    if (c0 >= cols) {
        return;
#endif
    }
    store_row(gid.z, co0 + 0u, c0, acc0a, acc0b);
    store_row(gid.z, co0 + 1u, c0, acc1a, acc1b);
    store_row(gid.z, co0 + 2u, c0, acc2a, acc2b);
    store_row(gid.z, co0 + 3u, c0, acc3a, acc3b);
    store_row(gid.z, co0 + 4u, c0, acc4a, acc4b);
    store_row(gid.z, co0 + 5u, c0, acc5a, acc5b);
    store_row(gid.z, co0 + 6u, c0, acc6a, acc6b);
    store_row(gid.z, co0 + 7u, c0, acc7a, acc7b);
}

fn store_row(z: u32, co: u32, c0: u32, a: vec4<f32>, b: vec4<f32>) {
    let cols = p.c_in * p.k * p.k;
    if (co >= p.c_out) {
        return;
    }
    let base = (z * p.c_out + co) * cols + c0;
    for (var j = 0u; j < 4u; j++) {
        if (c0 + j < cols) {
            out[base + j] = a[j];
        }
        if (c0 + 4u + j < cols) {
            out[base + 4u + j] = b[j];
        }
    }
}

#ifdef texels
fn load_x(row: i32, ix: i32) -> f32 {
    let i = u32(row + ix);
    return textureLoad(x_tex, texel_at(i / 4u), 0)[i % 4u];
}
#else
fn load_x(row: i32, ix: i32) -> f32 {
    if (row >= 0 && u32(ix) < p.w) {
        return x[u32(row + ix)];
    }
    return 0.0;
}
#endif
