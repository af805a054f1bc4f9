// BatchNorm statistics, one workgroup per channel.
// train != 0: mean and biased variance of the batch (two passes for
//   accuracy); running_mean/var updated with the unbiased variance (PyTorch).
// train == 0: the running statistics are used as they are.
// Writes mean[c] and invstd[c] = 1 / sqrt(var + eps) for batchnorm_apply.
#import reduce

struct Params {
    n: u32,
    c: u32,
    hw: u32,
    train: u32,
    eps: f32,
    momentum: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> invstd: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let ch = wg.x;
    if (p.train == 0u) {
        if (lid == 0u) {
            mean[ch] = running_mean[ch];
            invstd[ch] = 1.0 / sqrt(running_var[ch] + p.eps);
        }
        return;
    }
    let count = p.n * p.hw;
    var acc = 0.0;
    for (var e = lid; e < count; e += 256u) {
        acc = acc + x[((e / p.hw) * p.c + ch) * p.hw + e % p.hw];
    }
    let mu = workgroup_sum(lid, acc) / f32(count);
    var acc2 = 0.0;
    for (var e = lid; e < count; e += 256u) {
        let d = x[((e / p.hw) * p.c + ch) * p.hw + e % p.hw] - mu;
        acc2 = acc2 + d * d;
    }
    let var_biased = workgroup_sum(lid, acc2) / f32(count);
    if (lid == 0u) {
        mean[ch] = mu;
        invstd[ch] = 1.0 / sqrt(var_biased + p.eps);
        let var_unbiased = var_biased * f32(count) / f32(max(count, 2u) - 1u);
        running_mean[ch] = (1.0 - p.momentum) * running_mean[ch] + p.momentum * mu;
        running_var[ch] = (1.0 - p.momentum) * running_var[ch] + p.momentum * var_unbiased;
    }
}
