// The weights of the transposed convolution: y[ci, co, k-1-ky, k-1-kx] =
// w[co, ci, ky, kx]. Backward-data of a stride-1 convolution is the forward
// convolution of the output gradient with these weights, so it can run on
// the fast forward kernel.
#import index

struct Params {
    c_out: u32,
    c_in: u32,
    k: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let kk = p.k * p.k;
    if (i >= p.c_out * p.c_in * kk) {
        return;
    }
    let co = i / (p.c_in * kk);
    let ci = (i / kk) % p.c_in;
    let tap = i % kk;
    y[(ci * p.c_out + co) * kk + (kk - 1u - tap)] = w[i];
}
