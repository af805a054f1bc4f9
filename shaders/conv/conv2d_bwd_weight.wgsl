// Convolution backward-weight as an implicit GEMM with split-K:
// gw[co, (ci, ky, kx)] = sum_{n, oy, ox} gy[n, co, oy, ox] * x[n, ci, iy, ix].
// Rows = output channels, columns = (ci, ky, kx), k = (n, oy, ox). The long
// k range is cut into chunks, one per grid z, so that small weight tensors
// still fill the device; chunk z writes partial sums to out[z] (summed by
// sum_splits when there is more than one chunk).
#import gemm_tiled

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
    k_chunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn gemm_m() -> u32 { return p.c_out; }
fn gemm_n() -> u32 { return p.c_in * p.k * p.k; }
fn gemm_k_begin(z: u32) -> u32 { return z * p.k_chunk; }
fn gemm_k_end(z: u32) -> u32 { return min((z + 1u) * p.k_chunk, p.n * p.h_out * p.w_out); }

fn load_a(z: u32, row: u32, q: u32) -> f32 {
    let pixels = p.h_out * p.w_out;
    return gy[((q / pixels) * p.c_out + row) * pixels + q % pixels];
}

fn load_b(z: u32, q: u32, col: u32) -> f32 {
    let pixels = p.h_out * p.w_out;
    let img = q / pixels;
    let pix = q % pixels;
    let taps = p.k * p.k;
    let ci = col / taps;
    let ky = (col % taps) / p.k;
    let kx = col % p.k;
    let iy = i32((pix / p.w_out) * p.stride + ky) - i32(p.pad);
    let ix = i32((pix % p.w_out) * p.stride + kx) - i32(p.pad);
    if (iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w)) {
        return 0.0;
    }
    return x[((img * p.c_in + ci) * p.h + u32(iy)) * p.w + u32(ix)];
}

fn store_c(z: u32, row: u32, col: u32, v: f32) {
    out[(z * p.c_out + row) * gemm_n() + col] = v;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    gemm_tiled(wg, lid);
}
