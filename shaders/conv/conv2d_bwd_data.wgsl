// Convolution backward-data with register blocking:
// gx[z, ci, iy, ix] = sum_{co,ky,kx} w[co, ci, ky, kx] * gy[z, co, oy, ox]
// over the taps with oy * stride + ky - pad = iy (likewise for x).
// Each invocation computes 8 input channels x 8 input pixels of one row that
// share a residue modulo the stride (ix = r + stride * q), so all 8 receive
// the same taps (ky, kx) and their gy reads are consecutive: stride 2 wastes
// no work on taps that do not reach a pixel.
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
    var acc: array<f32, 64>;
    for (var i = 0u; i < 64u; i++) {
        acc[i] = 0.0;
    }
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
                var b: array<f32, 8>;
                for (var j = 0u; j < 8u; j++) {
                    let ox = ox_base + i32(j);
                    var v = 0.0;
                    if (ox >= 0 && ox < i32(p.w_out)) {
                        v = gy[plane + oy * p.w_out + u32(ox)];
                    }
                    b[j] = v;
                }
                let tap = ky * p.k + kx;
                for (var r = 0u; r < 8u; r++) {
                    let a = weight[wco + wrow[r] + tap];
                    for (var j = 0u; j < 8u; j++) {
                        acc[r * 8u + j] = acc[r * 8u + j] + a * b[j];
                    }
                }
            }
        }
    }
    for (var r = 0u; r < 8u; r++) {
        let ci = ci0 + r;
        if (ci >= p.c_in) {
            break;
        }
        let base = ((img * p.c_in + ci) * p.h + iy) * p.w;
        for (var j = 0u; j < 8u; j++) {
            let ix = res + s * (q0 + j);
            if (ix < p.w) {
                gx[base + ix] = acc[r * 8u + j];
            }
        }
    }
}
