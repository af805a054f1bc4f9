// Convolution forward as an implicit GEMM, one image per grid z:
// y[z, co, p] = sum_{ci,ky,kx} w[co, ci, ky, kx] * x[z, ci, iy, ix] (+ bias[co]),
// rows = output channels, columns = output pixels, k = (ci, ky, kx).
#import gemm_tiled

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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn gemm_m() -> u32 { return p.c_out; }
fn gemm_n() -> u32 { return p.h_out * p.w_out; }
fn gemm_k_begin(z: u32) -> u32 { return 0u; }
fn gemm_k_end(z: u32) -> u32 { return p.c_in * p.k * p.k; }

fn load_a(z: u32, row: u32, kk: u32) -> f32 {
    return weight[row * p.c_in * p.k * p.k + kk];
}

fn load_b(z: u32, kk: u32, col: u32) -> f32 {
    let taps = p.k * p.k;
    let ci = kk / taps;
    let ky = (kk % taps) / p.k;
    let kx = kk % p.k;
    let iy = i32((col / p.w_out) * p.stride + ky) - i32(p.pad);
    let ix = i32((col % p.w_out) * p.stride + kx) - i32(p.pad);
    if (iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w)) {
        return 0.0;
    }
    return x[((z * p.c_in + ci) * p.h + u32(iy)) * p.w + u32(ix)];
}

fn store_c(z: u32, row: u32, col: u32, v: f32) {
    var out = v;
    if (p.has_bias != 0u) {
        out = out + bias[row];
    }
    y[(z * p.c_out + row) * p.h_out * p.w_out + col] = out;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    gemm_tiled(wg, lid);
}
