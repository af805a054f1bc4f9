// One Adam step with PyTorch semantics (no weight decay):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),  bc_i = 1 - b_i^t
// lr, bc1 and bc2 change every step, so they are read from `step`
// ([lr, bc1, bc2, grad_scale]) which the host writes before each submit;
// the gradient is scaled by grad_scale first (1/n for a sum of n
// micro-batches' or ranks' gradients; 1 leaves it exact). With
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

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.len) {
        return;
    }
    let g = grad[i] * step[3];
    let m1 = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let v1 = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = m1;
    v[i] = v1;
    let lr = step[0];
    let denom = sqrt(v1) / sqrt(step[2]) + p.eps;
    param[i] = param[i] - (lr / step[1]) * (m1 / denom);
}
