// Convolution backward-weight with register blocking and split-K:
// gw[co, (ci, ky, kx)] = sum_{n, oy, ox} gy[n, co, oy, ox] * x[n, ci, iy, ix].
// Each invocation computes 8 output channels x 8 consecutive (ci, ky, kx)
// columns, summing over the output rows [z * rows_per_split, ...) of the
// flattened (n, oy) range; chunk z writes out[z] (summed by sum_splits when
// there is more than one chunk), so small weight tensors still fill the device.
// Grid: x = column groups of 8, y = channel groups of 8, z = chunk.
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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let taps = p.k * p.k;
    let cols = p.c_in * taps;
    let c0 = gid.x * 8u;
    let co0 = gid.y * 8u;
    if (c0 >= cols || co0 >= p.c_out) {
        return;
    }
    // Per column: input channel and tap offsets.
    var ci: array<u32, 8>;
    var dy: array<i32, 8>;
    var dx: array<i32, 8>;
    for (var j = 0u; j < 8u; j++) {
        let col = min(c0 + j, cols - 1u);
        ci[j] = col / taps;
        dy[j] = i32((col % taps) / p.k) - i32(p.pad);
        dx[j] = i32(col % p.k) - i32(p.pad);
    }
    var acc: array<f32, 64>;
    for (var i = 0u; i < 64u; i++) {
        acc[i] = 0.0;
    }
    let out_plane = p.h_out * p.w_out;
    let row_begin = gid.z * p.rows_per_split;
    let row_end = min(row_begin + p.rows_per_split, p.n * p.h_out);
    for (var row = row_begin; row < row_end; row++) {
        let img = row / p.h_out;
        let oy = row % p.h_out;
        var xrow: array<i32, 8>;
        for (var j = 0u; j < 8u; j++) {
            let iy = i32(oy * p.stride) + dy[j];
            if (iy >= 0 && iy < i32(p.h)) {
                xrow[j] = i32(((img * p.c_in + ci[j]) * p.h + u32(iy)) * p.w);
            } else {
                xrow[j] = -1;
            }
        }
        var grow: array<u32, 8>;
        for (var r = 0u; r < 8u; r++) {
            grow[r] = (img * p.c_out + min(co0 + r, p.c_out - 1u)) * out_plane + oy * p.w_out;
        }
        for (var ox = 0u; ox < p.w_out; ox++) {
            var b: array<f32, 8>;
            for (var j = 0u; j < 8u; j++) {
                let ix = i32(ox * p.stride) + dx[j];
                var v = 0.0;
                if (xrow[j] >= 0 && ix >= 0 && ix < i32(p.w)) {
                    v = x[u32(xrow[j] + ix)];
                }
                b[j] = v;
            }
            for (var r = 0u; r < 8u; r++) {
                let a = gy[grow[r] + ox];
                for (var j = 0u; j < 8u; j++) {
                    acc[r * 8u + j] = acc[r * 8u + j] + a * b[j];
                }
            }
        }
    }
    for (var r = 0u; r < 8u; r++) {
        let co = co0 + r;
        if (co >= p.c_out) {
            break;
        }
        let base = (gid.z * p.c_out + co) * cols;
        for (var j = 0u; j < 8u; j++) {
            if (c0 + j < cols) {
                out[base + c0 + j] = acc[r * 8u + j];
            }
        }
    }
}
