// P = the hole region (M == 0) dilated by one pixel (3x3 square, clipped to
// the image): 1 inside P, else 0. The region of the total-variation loss.
#import index

struct Params {
    n: u32,
    h: u32,
    w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> region: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let plane = p.h * p.w;
    if (i >= p.n * plane) {
        return;
    }
    let img = i / plane;
    let y = i32((i % plane) / p.w);
    let x = i32(i % p.w);
    var hit = 0.0;
    for (var dy = -1; dy <= 1; dy++) {
        for (var dx = -1; dx <= 1; dx++) {
            let yy = y + dy;
            let xx = x + dx;
            if (yy >= 0 && xx >= 0 && yy < i32(p.h) && xx < i32(p.w)) {
                if (mask[img * plane + u32(yy) * p.w + u32(xx)] == 0.0) {
                    hit = 1.0;
                }
            }
        }
    }
    region[i] = hit;
}
