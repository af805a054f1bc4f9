// Convolution backward-data as an implicit GEMM, one image per grid z:
// gx[z, ci, iy, ix] = sum_{co,ky,kx} w[co, ci, ky, kx] * gy[z, co, oy, ox]
// where oy * stride + ky - pad = iy (and likewise for x).
// Rows = input channels, columns = input pixels, k = (co, ky, kx).
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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;

fn gemm_m() -> u32 { return p.c_in; }
fn gemm_n() -> u32 { return p.h * p.w; }
fn gemm_k_begin(z: u32) -> u32 { return 0u; }
fn gemm_k_end(z: u32) -> u32 { return p.c_out * p.k * p.k; }

fn load_a(z: u32, row: u32, kk: u32) -> f32 {
    let taps = p.k * p.k;
    let co = kk / taps;
    return weight[(co * p.c_in + row) * taps + kk % taps];
}

fn load_b(z: u32, kk: u32, col: u32) -> f32 {
    let taps = p.k * p.k;
    let co = kk / taps;
    let ky = (kk % taps) / p.k;
    let kx = kk % p.k;
    let ty = i32(col / p.w + p.pad) - i32(ky);
    let tx = i32(col % p.w + p.pad) - i32(kx);
    if (ty < 0 || tx < 0) {
        return 0.0;
    }
    let s = i32(p.stride);
    if (ty % s != 0 || tx % s != 0) {
        return 0.0;
    }
    let oy = u32(ty / s);
    let ox = u32(tx / s);
    if (oy >= p.h_out || ox >= p.w_out) {
        return 0.0;
    }
    return gy[((z * p.c_out + co) * p.h_out + oy) * p.w_out + ox];
}

fn store_c(z: u32, row: u32, col: u32, v: f32) {
    gx[(z * p.c_in + row) * p.h * p.w + col] = v;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    gemm_tiled(wg, lid);
}
