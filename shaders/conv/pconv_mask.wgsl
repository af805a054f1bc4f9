// Partial-convolution mask update. The input mask of a layer is one or two
// single-channel maps (two after the decoder's concatenation), each standing
// for `count_a` / `count_b` identical channels. For every output position:
//   S = sum over the k x k window (zero padded) of count_a*m_a + count_b*m_b
//   ratio = (count_a + count_b) * k^2 / S  if S > 0, else 0
//   mask_out = 1 if S > 0, else 0
#import index

struct Params {
    n: u32,
    h: u32,
    w: u32,
    h_out: u32,
    w_out: u32,
    k: u32,
    stride: u32,
    pad: u32,
    count_a: u32,
    count_b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mask_a: array<f32>;
@group(0) @binding(2) var<storage, read> mask_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> ratio: array<f32>;
@group(0) @binding(4) var<storage, read_write> mask_out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let pixels = p.h_out * p.w_out;
    if (i >= p.n * pixels) {
        return;
    }
    let img = i / pixels;
    let oy = (i % pixels) / p.w_out;
    let ox = i % p.w_out;
    var s = 0.0;
    for (var ky = 0u; ky < p.k; ky++) {
        let iy = i32(oy * p.stride + ky) - i32(p.pad);
        if (iy < 0 || iy >= i32(p.h)) {
            continue;
        }
        for (var kx = 0u; kx < p.k; kx++) {
            let ix = i32(ox * p.stride + kx) - i32(p.pad);
            if (ix < 0 || ix >= i32(p.w)) {
                continue;
            }
            let at = (img * p.h + u32(iy)) * p.w + u32(ix);
            s = s + f32(p.count_a) * mask_a[at];
            if (p.count_b != 0u) {
                s = s + f32(p.count_b) * mask_b[at];
            }
        }
    }
    if (s > 0.0) {
        ratio[i] = f32((p.count_a + p.count_b) * p.k * p.k) / s;
        mask_out[i] = 1.0;
    } else {
        ratio[i] = 0.0;
        mask_out[i] = 0.0;
    }
}
