// Nearest-neighbour x2 upsampling: y[nc, oy, ox] = x[nc, oy / 2, ox / 2].
// With `vec4` (even input widths) an invocation writes 4 outputs from 2
// inputs.
#import index
#import half

// X and Y as stored (f32, or f16 with `half_in` / `half_out`).
#ifdef vec4
alias X = IN2;
alias Y = OUT4;
// Outputs and inputs per invocation.
const LANES: u32 = 4u;
const X_LANES: u32 = 2u;
#else
alias X = IN1;
alias Y = OUT1;
const LANES: u32 = 1u;
const X_LANES: u32 = 1u;
#endif

struct Params {
    nc: u32,
    h: u32,
    w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<X>;
@group(0) @binding(2) var<storage, read_write> y: array<Y>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let e = i * LANES;
    let w2 = 2u * p.w;
    let plane = 4u * p.h * p.w;
    if (e >= p.nc * plane) {
        return;
    }
    let nc = e / plane;
    let oy = (e % plane) / w2;
    let ox = e % w2;
    let v = x[((nc * p.h + oy / 2u) * p.w + ox / 2u) / X_LANES];
#ifdef vec4
    y[i] = out4(vec4<f32>(f32(v.x), f32(v.x), f32(v.y), f32(v.y)));
#else
    y[i] = out1(f32(v));
#endif
}
