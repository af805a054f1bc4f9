// Gradient of scale * TV(comp) with respect to comp: every pixel collects
// +sign(its difference) from the pairs where it is the second pixel and
// -sign from the pairs where it is the first.
#import index

struct Params {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> comp: array<f32>;
@group(0) @binding(3) var<storage, read> region: array<f32>;
@group(0) @binding(4) var<storage, read_write> gc: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let plane = p.h * p.w;
    if (i >= p.n * p.c * plane) {
        return;
    }
    let r = (i / (p.c * plane)) * plane + i % plane;
    var s = 0.0;
    if (region[r] != 0.0) {
        let y = (i % plane) / p.w;
        let x = i % p.w;
        let v = comp[i];
        if (x + 1u < p.w && region[r + 1u] != 0.0) {
            s = s - sign(comp[i + 1u] - v);
        }
        if (x > 0u && region[r - 1u] != 0.0) {
            s = s + sign(v - comp[i - 1u]);
        }
        if (y + 1u < p.h && region[r + p.w] != 0.0) {
            s = s - sign(comp[i + p.w] - v);
        }
        if (y > 0u && region[r - p.w] != 0.0) {
            s = s + sign(v - comp[i - p.w]);
        }
    }
    gc[i] = g[0] * p.scale * s;
}
