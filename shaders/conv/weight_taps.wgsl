// A 3x3 convolution's weights as the nine f16 matrices conv3x3_mma.wgsl
// multiplies: taps[t, m, c] for tap t = 3 ky + kx, result channel m <
// rows_pad and operand channel c < depth_pad, zeros beyond the weights (so
// every 16 x 16 tile a workgroup loads is in range and 16-byte aligned).
// Forward: taps[t, co, ci] = w[co, ci, ky, kx]. `flip` (the input
// gradient, the forward convolution of gy): taps[t, ci, co] = w[co, ci, 2
// - ky, 2 - kx].
#import index
#import to_f16

struct Params {
    c_out: u32,
    c_in: u32,
    rows_pad: u32,
    depth_pad: u32,
    flip: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> taps: array<f16>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= 9u * p.rows_pad * p.depth_pad) {
        return;
    }
    let c = i % p.depth_pad;
    let m = (i / p.depth_pad) % p.rows_pad;
    let t = i / (p.depth_pad * p.rows_pad);
    var co = m;
    var ci = c;
    var tap = t;
    if (p.flip != 0u) {
        co = c;
        ci = m;
        tap = 8u - t;
    }
    var v = f16(0.0);
    if (co < p.c_out && ci < p.c_in) {
        v = to_f16(w[(co * p.c_in + ci) * 9u + tap]);
    }
    taps[i] = v;
}
