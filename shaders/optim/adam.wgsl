// One Adam step with PyTorch semantics (no weight decay):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),  bc_i = 1 - b_i^t
// lr, bc1 and bc2 change every step, so they are read from `step`
// ([lr, bc1, bc2, grad_scale]) which the host writes before each submit;
// the gradient is scaled by grad_scale first (1/n for a sum of n
// micro-batches' or ranks' gradients; 1 leaves it exact). With
// `loss_scaled` (mixed-precision training) the gradients are the loss
// scale S times too large: the scale is divided by S = scaler[0], and
// where the step overflowed (scaler[1] != 0) nothing is updated. With
// `vec4` (tensors of a multiple of 4 values) an invocation updates 4
// values: on lavapipe a load costs about the same whatever its width.
#import index
#import lanes

struct Params {
    // Elements of V.
    len: u32,
    beta1: f32,
    beta2: f32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> step: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<V>;
@group(0) @binding(3) var<storage, read_write> param: array<V>;
@group(0) @binding(4) var<storage, read_write> m: array<V>;
@group(0) @binding(5) var<storage, read_write> v: array<V>;
#ifdef loss_scaled
// [loss scale, overflowed, clean steps, skipped steps] (optim/loss_scale.wgsl).
@group(0) @binding(6) var<storage, read> scaler: array<f32>;
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.len) {
        return;
    }
#ifdef loss_scaled
    if (scaler[1] != 0.0) {
        return;
    }
    let g = grad[i] * (step[3] / scaler[0]);
#else
    let g = grad[i] * step[3];
#endif
    let m1 = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let v1 = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = m1;
    v[i] = v1;
    let lr = step[0];
    let denom = sqrt(v1) / sqrt(step[2]) + p.eps;
    param[i] = param[i] - (lr / step[1]) * (m1 / denom);
}
