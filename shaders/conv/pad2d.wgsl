// Zero padding on all four sides: y[nc, py, px] = x[nc, py - pad, px - pad]
// inside, 0 outside; output rows are `pitch` floats (>= w + 2 pad, a
// multiple of 4 so that kernels can load aligned vec4s). Convolutions read
// the padded copy so that their inner loops need no bounds checks (about
// twice as fast on lavapipe). Without `vec4` one invocation writes 4
// floats, loaded one by one; with `texels` the copy is a texel array
// (common/texels.wgsl) instead of a buffer. With `vec4` (w a multiple of 4,
// so rows are whole vec4s) an invocation writes a run of RUN output vec4s
// of a row, each from the two input vec4s it straddles, consecutive ones
// sharing one: RUN + 1 loads for RUN outputs rather than 2 RUN (lavapipe
// pays per float loaded).
#import index

struct Params {
    nc: u32,
    h: u32,
    w: u32,
    pad: u32,
    pitch: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#ifdef vec4
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
#ifdef texels
#import texels
@group(0) @binding(2) var y: texture_storage_2d<rgba32float, write>;
#else
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
#endif

fn store(i: u32, v: vec4<f32>) {
#ifdef texels
    textureStore(y, texel_at(i), v);
#else
    y[i] = v;
#endif
}

#ifdef vec4
const RUN: u32 = 4u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let hp = p.h + 2u * p.pad;
    let wp4 = p.pitch / 4u;
    let runs = (wp4 + RUN - 1u) / RUN;
    if (i >= p.nc * hp * runs) {
        return;
    }
    // Output row (nc, py) and its first vec4 t0.
    let row = i / runs;
    let t0 = (i % runs) * RUN;
    // Unsigned wrap-around makes coordinates above the image huge.
    let yy = row % hp - p.pad;
    let inside = yy < p.h;
    let row4 = ((row / hp) * p.h + yy) * (p.w / 4u);
    // Output vec4 t0 + q holds input columns c0 + 4 q .. + 3, which lie in
    // the input vec4s first + q (from float `off`) and first + q + 1;
    // vec4s off the row read as zeros.
    let c0 = i32(t0 * 4u) - i32(p.pad);
    let off = u32(((c0 % 4) + 4) % 4);
    let first = (c0 - i32(off)) / 4;
    var a = chunk(inside, row4, first);
    for (var q = 0u; q < RUN; q++) {
        if (t0 + q >= wp4) {
            break;
        }
        let b = chunk(inside, row4, first + i32(q) + 1);
        var v: vec4<f32>;
        switch off {
            case 0u: {
                v = a;
            }
            case 1u: {
                v = vec4<f32>(a.y, a.z, a.w, b.x);
            }
            case 2u: {
                v = vec4<f32>(a.z, a.w, b.x, b.y);
            }
            default: {
                v = vec4<f32>(a.w, b.x, b.y, b.z);
            }
        }
        store(row * wp4 + t0 + q, v);
        a = b;
    }
}

// Vec4 `c` of the input row starting at vec4 `row4`, zeros off the image.
fn chunk(inside: bool, row4: u32, c: i32) -> vec4<f32> {
    if (!inside || c < 0 || u32(c) >= p.w / 4u) {
        return vec4<f32>(0.0);
    }
    return x4[row4 + u32(c)];
}
#else
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let hp = p.h + 2u * p.pad;
    let wp4 = p.pitch / 4u;
    if (i >= p.nc * hp * wp4) {
        return;
    }
    let nc = i / (hp * wp4);
    // Unsigned wrap-around makes coordinates left of / above the image huge.
    let yy = (i / wp4) % hp - p.pad;
    var v = vec4<f32>(0.0);
    let x0 = (i % wp4) * 4u - p.pad;
    if (yy < p.h) {
        let row = (nc * p.h + yy) * p.w;
        for (var j = 0u; j < 4u; j++) {
            let xx = x0 + j;
            if (xx < p.w) {
                v[j] = x[row + xx];
            }
        }
    }
    store(i, v);
}
#endif
