// Zero padding on all four sides: y[nc, py, px] = x[nc, py - pad, px - pad]
// inside, 0 outside; output rows are `pitch` floats (>= w + 2 pad, a
// multiple of 4 so that kernels can load aligned vec4s). Convolutions read the padded copy so that their inner
// loops need no bounds checks (about twice as fast on lavapipe).
#import index

struct Params {
    nc: u32,
    h: u32,
    w: u32,
    pad: u32,
    pitch: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let hp = p.h + 2u * p.pad;
    let wp = p.pitch;
    if (i >= p.nc * hp * wp) {
        return;
    }
    let nc = i / (hp * wp);
    // Unsigned wrap-around makes coordinates left of / above the image huge.
    let yy = (i / wp) % hp - p.pad;
    let xx = i % wp - p.pad;
    var v = 0.0;
    if (yy < p.h && xx < p.w) {
        v = x[(nc * p.h + yy) * p.w + xx];
    }
    y[i] = v;
}
