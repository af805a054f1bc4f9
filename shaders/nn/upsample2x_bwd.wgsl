// Backward of nearest x2 upsampling: gx[nc, y, x] = sum of the 2x2 block of g.
// With `vec4` (even widths of gx) an invocation sums two blocks from two
// vec4s of g.
#import index
#import half

// G and GX as stored (f32, or f16 with `half_in` / `half_out`).
#ifdef vec4
alias G = IN4;
alias GX = OUT2;
const LANES: u32 = 2u;
#else
alias G = IN1;
alias GX = OUT1;
const LANES: u32 = 1u;
#endif

struct Params {
    nc: u32,
    h: u32,
    w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<G>;
@group(0) @binding(2) var<storage, read_write> gx: array<GX>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let e = i * LANES;
    let plane = p.h * p.w;
    if (e >= p.nc * plane) {
        return;
    }
    let nc = e / plane;
    let y = (e % plane) / p.w;
    let x = e % p.w;
    let w2 = 2u * p.w;
    let base = (nc * 2u * p.h + 2u * y) * w2 + 2u * x;
#ifdef vec4
    let top = vec4<f32>(g[base / 4u]);
    let bottom = vec4<f32>(g[(base + w2) / 4u]);
    let s = top + bottom;
    gx[i] = out2(vec2<f32>(s.x + s.y, s.z + s.w));
#else
    let top = f32(g[base]) + f32(g[base + 1u]);
    gx[i] = out1(top + (f32(g[base + w2]) + f32(g[base + w2 + 1u])));
#endif
}
