// Backward of the 2x2 max-pool: each input pixel receives its window's
// gradient if it is the window's first maximum in scan order (as PyTorch),
// else 0; pixels outside every window (floor mode) get 0.
#import index

struct Params {
    nc: u32,
    h: u32,
    w: u32,
    h_out: u32,
    w_out: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let plane = p.h * p.w;
    if (i >= p.nc * plane) {
        return;
    }
    let nc = i / plane;
    let y = (i % plane) / p.w;
    let xx = i % p.w;
    let oy = y / 2u;
    let ox = xx / 2u;
    if (oy >= p.h_out || ox >= p.w_out) {
        gx[i] = 0.0;
        return;
    }
    let base = (nc * p.h + 2u * oy) * p.w + 2u * ox;
    var best = base;
    var best_v = x[base];
    let cands = array<u32, 3>(base + 1u, base + p.w, base + p.w + 1u);
    for (var k = 0u; k < 3u; k++) {
        let v = x[cands[k]];
        if (v > best_v) {
            best_v = v;
            best = cands[k];
        }
    }
    if (best == i) {
        gx[i] = g[(nc * p.h_out + oy) * p.w_out + ox];
    } else {
        gx[i] = 0.0;
    }
}
