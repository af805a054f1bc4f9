// y[n, c, p] = x[n, c, p] * scale[c] + shift[c] for 3-channel images: the VGG
// input normalisation (and, with shift 0, its backward).
#import index
#import half

struct Params {
    n: u32,
    hw: u32,
    scale: vec4<f32>,
    shift: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<IN1>;
@group(0) @binding(2) var<storage, read_write> y: array<OUT1>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.n * 3u * p.hw) {
        return;
    }
    let ch = (i / p.hw) % 3u;
    y[i] = out1(f32(x[i]) * p.scale[ch] + p.shift[ch]);
}
