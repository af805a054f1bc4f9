// Gradient accumulation, in place: acc = grad on a step's first
// micro-batch (`first[0]` != 0), else acc + grad. A select, not a
// multiply by 0, so a stale non-finite acc cannot leak into a new step.
// With `vec4` (tensors of a multiple of 4 values) an invocation updates 4
// values. With `loss_scaled` (mixed-precision training) a non-finite
// gradient value marks the step as overflowed (scaler[1] = 1.0, stored as
// its bits by whichever invocation finds one), which the Adam step reads.
#import index
#import lanes

struct Params {
    // Elements of V.
    len: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> first: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<V>;
@group(0) @binding(3) var<storage, read_write> acc: array<V>;
#ifdef loss_scaled
@group(0) @binding(4) var<storage, read_write> scaler: array<atomic<u32>>;

// Exponent bits all ones: an infinity or a NaN.
fn non_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.len) {
        return;
    }
    let g = grad[i];
    acc[i] = select(acc[i] + g, g, first[0] != 0.0);
#ifdef loss_scaled
    var bad = false;
    for (var k = 0u; k < LANES; k++) {
#ifdef vec4
        bad = bad || non_finite(g[k]);
#else
        bad = bad || non_finite(g);
#endif
    }
    if (bad) {
        atomicStore(&scaler[1], 0x3f800000u);
    }
#endif
}
