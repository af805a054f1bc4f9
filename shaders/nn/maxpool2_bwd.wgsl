// Backward of the 2x2 max-pool: each input pixel receives its window's
// gradient if it is the window's first maximum in scan order (as PyTorch),
// else 0; pixels outside every window (floor mode) get 0. With `vec4`
// (even h, w a multiple of 4: every pixel in a window, rows of whole vec4s)
// an invocation handles two windows: two vec4 loads and stores a row pair.
#import index
#import half

struct Params {
    nc: u32,
    h: u32,
    w: u32,
    h_out: u32,
    w_out: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#ifdef vec4
@group(0) @binding(1) var<storage, read> x4: array<IN4>;
@group(0) @binding(2) var<storage, read> g2: array<IN2>;
@group(0) @binding(3) var<storage, read_write> gx4: array<OUT4>;
#else
@group(0) @binding(1) var<storage, read> x: array<IN1>;
@group(0) @binding(2) var<storage, read> g: array<IN1>;
@group(0) @binding(3) var<storage, read_write> gx: array<OUT1>;
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
#ifdef vec4
    // Windows 2i and 2i + 1 of output row `row`: input columns
    // 4 (i % (w_out / 2)) .. + 3 of rows 2 row and 2 row + 1 (n and c folded in).
    if (2u * i >= p.nc * p.h_out * p.w_out) {
        return;
    }
    let half = p.w_out / 2u;
    let row = i / half;
    let top_i = (2u * row) * half + i % half;
    let bottom_i = top_i + half;
    let top = vec4<f32>(x4[top_i]);
    let bottom = vec4<f32>(x4[bottom_i]);
    let grad = vec2<f32>(g2[i]);
    let left = window_grad(vec4<f32>(top.x, top.y, bottom.x, bottom.y), grad.x);
    let right = window_grad(vec4<f32>(top.z, top.w, bottom.z, bottom.w), grad.y);
    gx4[top_i] = out4(vec4<f32>(left.x, left.y, right.x, right.y));
    gx4[bottom_i] = out4(vec4<f32>(left.z, left.w, right.z, right.w));
#else
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
        gx[i] = out1(0.0);
        return;
    }
    let base = (nc * p.h + 2u * oy) * p.w + 2u * ox;
    var best = base;
    var best_v = f32(x[base]);
    let cands = array<u32, 3>(base + 1u, base + p.w, base + p.w + 1u);
    for (var k = 0u; k < 3u; k++) {
        let v = f32(x[cands[k]]);
        if (v > best_v) {
            best_v = v;
            best = cands[k];
        }
    }
    if (best == i) {
        gx[i] = out1(f32(g[(nc * p.h_out + oy) * p.w_out + ox]));
    } else {
        gx[i] = out1(0.0);
    }
#endif
}

#ifdef vec4
// The gradient of a window's four pixels in scan order: g at the first
// maximum (the scalar kernel's comparisons), 0 elsewhere.
fn window_grad(v: vec4<f32>, g: f32) -> vec4<f32> {
    var best = 0u;
    var best_v = v.x;
    for (var k = 1u; k < 4u; k++) {
        if (v[k] > best_v) {
            best_v = v[k];
            best = k;
        }
    }
    var out = vec4<f32>(0.0);
    out[best] = g;
    return out;
}
#endif
