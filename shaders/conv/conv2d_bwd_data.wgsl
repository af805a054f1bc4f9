// Convolution backward-data with register blocking:
// gx[z, ci, iy, ix] = sum_{co,ky,kx} w[co, ci, ky, kx] * gy[z, co, oy, ox]
// over the taps with oy * stride + ky - pad = iy (likewise for x).
// Each invocation computes 8 input channels x 8 input pixels of one row that
// share a residue modulo the stride (ix = r + stride * q), so all 8 receive
// the same taps (ky, kx) and their gy reads are consecutive: stride 2 wastes
// no work on taps that do not reach a pixel.
// Accumulators live in vec4 registers.
// Grid: x = (row, residue, group of 8 q), y = channel groups of 8, z = image.
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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = p.stride;
    let q_blocks = ((p.w + s - 1u) / s + 7u) / 8u;
    let per_row = s * q_blocks;
    let ci0 = gid.y * 8u;
    if (gid.x >= p.h * per_row || ci0 >= p.c_in) {
        return;
    }
    let img = gid.z;
    let iy = gid.x / per_row;
    let res = (gid.x % per_row) / q_blocks;
    let q0 = (gid.x % q_blocks) * 8u;
    if (res >= p.w) {
        return;
    }
    let taps = p.k * p.k;
    var wrow: array<u32, 8>;
    for (var r = 0u; r < 8u; r++) {
        wrow[r] = min(ci0 + r, p.c_in - 1u) * taps;
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
    let ky0 = (iy + p.pad) % s;
    let kx0 = (res + p.pad) % s;
    for (var co = 0u; co < p.c_out; co++) {
        let plane = (img * p.c_out + co) * p.h_out * p.w_out;
        let wco = co * p.c_in * taps;
        for (var ky = ky0; ky < p.k && ky <= iy + p.pad; ky += s) {
            let oy = (iy + p.pad - ky) / s;
            if (oy >= p.h_out) {
                continue;
            }
            for (var kx = kx0; kx < p.k; kx += s) {
                // ox of pixel j is ox_base + j; negative or past the end reads 0.
                let ox_base = (i32(res + p.pad) - i32(kx)) / i32(s) + i32(q0);
                let plane_row = i32(plane + oy * p.w_out);
                let b0 = vec4<f32>(load_gy(plane_row, ox_base), load_gy(plane_row, ox_base + 1), load_gy(plane_row, ox_base + 2), load_gy(plane_row, ox_base + 3));
                let b1 = vec4<f32>(load_gy(plane_row, ox_base + 4), load_gy(plane_row, ox_base + 5), load_gy(plane_row, ox_base + 6), load_gy(plane_row, ox_base + 7));
                let tap = ky * p.k + kx;
                let a0 = weight[wco + wrow[0] + tap];
                acc0a = acc0a + a0 * b0;
                acc0b = acc0b + a0 * b1;
                let a1 = weight[wco + wrow[1] + tap];
                acc1a = acc1a + a1 * b0;
                acc1b = acc1b + a1 * b1;
                let a2 = weight[wco + wrow[2] + tap];
                acc2a = acc2a + a2 * b0;
                acc2b = acc2b + a2 * b1;
                let a3 = weight[wco + wrow[3] + tap];
                acc3a = acc3a + a3 * b0;
                acc3b = acc3b + a3 * b1;
                let a4 = weight[wco + wrow[4] + tap];
                acc4a = acc4a + a4 * b0;
                acc4b = acc4b + a4 * b1;
                let a5 = weight[wco + wrow[5] + tap];
                acc5a = acc5a + a5 * b0;
                acc5b = acc5b + a5 * b1;
                let a6 = weight[wco + wrow[6] + tap];
                acc6a = acc6a + a6 * b0;
                acc6b = acc6b + a6 * b1;
                let a7 = weight[wco + wrow[7] + tap];
                acc7a = acc7a + a7 * b0;
                acc7b = acc7b + a7 * b1;
            }
        }
    }
    store_row(img, ci0 + 0u, iy, res, q0, acc0a, acc0b);
    store_row(img, ci0 + 1u, iy, res, q0, acc1a, acc1b);
    store_row(img, ci0 + 2u, iy, res, q0, acc2a, acc2b);
    store_row(img, ci0 + 3u, iy, res, q0, acc3a, acc3b);
    store_row(img, ci0 + 4u, iy, res, q0, acc4a, acc4b);
    store_row(img, ci0 + 5u, iy, res, q0, acc5a, acc5b);
    store_row(img, ci0 + 6u, iy, res, q0, acc6a, acc6b);
    store_row(img, ci0 + 7u, iy, res, q0, acc7a, acc7b);
}

fn store_row(img: u32, ci: u32, iy: u32, res: u32, q0: u32, a: vec4<f32>, b: vec4<f32>) {
    if (ci >= p.c_in) {
        return;
    }
    let base = ((img * p.c_in + ci) * p.h + iy) * p.w;
    for (var j = 0u; j < 4u; j++) {
        let ix = res + p.stride * (q0 + j);
        if (ix < p.w) {
            gx[base + ix] = a[j];
        }
        let ix2 = res + p.stride * (q0 + 4u + j);
        if (ix2 < p.w) {
            gx[base + ix2] = b[j];
        }
    }
}

fn load_gy(plane_row: i32, ox: i32) -> f32 {
    if (u32(ox) < p.w_out) {
        return gy[u32(plane_row + ox)];
    }
    return 0.0;
}
